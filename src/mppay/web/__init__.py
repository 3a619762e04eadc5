"""HTTP edge: FastAPI app factory, routes, schemas, error table."""

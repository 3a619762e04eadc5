"""One module per use case; each takes a unit of work and a payment gateway port."""

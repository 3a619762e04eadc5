"""Background worker: outbox jobs, order sync, expiry, refund sync, reconciliation schedule."""

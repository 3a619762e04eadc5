"""A faithful WeChat Pay server for local development and tests (see README.md here)."""

"""Pure payment domain: money, order and refund states, transitions, expiry. Standard library only."""

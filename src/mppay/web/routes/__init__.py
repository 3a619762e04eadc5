"""Route modules: Mini Program API, WeChat notifications, operations API, health/metrics."""

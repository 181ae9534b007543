"""LL3xx: ContextVar values that outlive the code that set them."""

"""Request counters for the rate limits, kept where every worker process sees them."""

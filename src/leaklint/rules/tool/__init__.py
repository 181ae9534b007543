"""LL0xx: what leaklint reports about the input itself. They never run as visitors."""

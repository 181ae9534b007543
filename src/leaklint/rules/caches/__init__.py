"""LL2xx: caches and global state that grow for as long as the process lives."""

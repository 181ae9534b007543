"""LL6xx: state kept on middleware instances, and servers that never recycle their workers."""

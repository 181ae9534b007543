"""LL1xx: SQLAlchemy sessions, connections and engines that are never closed or built per request."""

"""LL4xx: asyncio tasks that are dropped, kept forever, or never cancelled."""

"""leaklint: find memory- and resource-leak patterns in FastAPI / Starlette / SQLAlchemy / asyncio code."""

__version__ = "0.1.0"

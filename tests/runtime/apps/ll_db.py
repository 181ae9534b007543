"""A SQLAlchemy yield-dependency in its own module (LL101: no finally) that also keeps every session."""

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool

engine = create_engine("sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool)
SessionLocal = sessionmaker(bind=engine)
AUDIT = []


def get_db():
    db = SessionLocal()
    AUDIT.append({"session": db, "scratch": bytearray(2048)})  # leak: the audit trail keeps every session
    yield db
    db.close()

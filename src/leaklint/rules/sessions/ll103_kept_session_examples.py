"""LL103's examples for a session an object made per request keeps on itself."""

from __future__ import annotations

from leaklint.rule import Invalid

_SERVICE = """
from fastapi import FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

app = FastAPI()
SessionLocal = sessionmaker(bind=create_engine("sqlite://"))


def new_session() -> Session:
    return SessionLocal()


class Enrichments:
    def __init__(self, tenant_id: str, db: Session | None = None):
        self.tenant_id = tenant_id
        self.db_session = db or new_session()

    def run(self):
        return self.db_session.execute(text("select 1")).scalar()
"""

VALID = [
    # every route hands the service a session it closes itself: the fallback never runs per request
    _SERVICE + '''

@app.post("/mapping")
def mapping(tenant_id: str):
    with SessionLocal() as db:
        return Enrichments(tenant_id, db).run()
''',
]

INVALID = [
    # a route leaves the session out: the service opens one per request and nothing closes it
    Invalid(_SERVICE + '''

@app.post("/mapping")
def mapping(tenant_id: str):
    return Enrichments(tenant_id=tenant_id).run()
''', line=16, message="Session `self.db_session` is kept on an instance of `Enrichments`, made per request"),
]

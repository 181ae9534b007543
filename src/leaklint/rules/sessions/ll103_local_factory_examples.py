"""LL103's examples for a session factory made in the function that uses it."""

from __future__ import annotations

from leaklint.rule import Invalid

_ENGINE = """
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

engine = create_engine("sqlite://")
"""

VALID = [
    # the local factory's session is closed by `with`
    _ENGINE + '''

def count_rows():
    Session = sessionmaker(bind=engine)
    with Session() as session:
        return session.execute(text("select count(*) from t")).scalar()
''',
]

INVALID = [
    # `Session` is a factory bound here: its product must be closed like any other session
    Invalid(_ENGINE + '''

def count_rows():
    Session = sessionmaker(bind=engine)
    session = Session()
    return session.execute(text("select count(*) from t")).scalar()
''', line=9, message="Session `session` is never closed"),
]

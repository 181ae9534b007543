"""Async yield-dependencies in their own module; one leaks: sessions are registered and never dropped."""

OPEN_SESSIONS = []


class Session:
    def __init__(self):
        self.buffer = bytearray(3000)
        self.closed = False

    def close(self):
        self.closed = True


async def get_session():
    session = Session()
    OPEN_SESSIONS.append(session)  # leak: never removed after the request
    yield session
    session.close()


async def get_fixed_session():
    session = Session()
    OPEN_SESSIONS.append(session)
    try:
        yield session
    finally:
        session.close()
        OPEN_SESSIONS.remove(session)

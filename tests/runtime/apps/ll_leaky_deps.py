"""A yield-dependency in its own module that leaks: sessions are registered and never dropped."""

OPEN_SESSIONS = []


class Session:
    def __init__(self):
        self.buffer = bytearray(3000)
        self.closed = False

    def close(self):
        self.closed = True


def get_session():
    session = Session()
    OPEN_SESSIONS.append(session)  # leak: never removed after the request
    yield session
    session.close()


def get_fixed_session():
    session = Session()
    OPEN_SESSIONS.append(session)
    try:
        yield session
    finally:
        session.close()
        OPEN_SESSIONS.remove(session)

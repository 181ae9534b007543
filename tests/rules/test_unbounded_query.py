"""LL507 (preview) through the real CLI on a small SQLAlchemy app: only with --preview, exact findings."""

from _cli import ROOT, findings, runner

FIXTURES = ROOT / "fixtures" / "LL507"
leaklint = runner("LL507")


def test_preview_rule_is_off_by_default():
    default = runner()(".", cwd=FIXTURES)
    assert "LL507" not in default.stdout
    assert [f for f in findings(runner()("--preview", ".", cwd=FIXTURES).stdout) if f[2] == "LL507"] == [
        ("routes.py", 13, "LL507"), ("routes.py", 19, "LL507")]


def test_unbounded_list_routes_are_reported():
    result = leaklint(".", cwd=FIXTURES)
    assert result.returncode == 1, result.stderr
    assert findings(result.stdout) == [("routes.py", 13, "LL507"), ("routes.py", 19, "LL507")], result.stdout
    assert "Route GET /orders returns an unbounded query result (`db.query(Order).all()`" in result.stdout
    # not reported: the paged route, the lookup by primary key, the distinct statuses


def test_the_app_runs_and_the_reported_route_returns_every_row():
    """The finding's claim on the real app: GET /orders returns as many rows as the table holds."""
    import importlib
    import sys

    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    sys.path.insert(0, str(FIXTURES))
    try:
        db, models, routes = (importlib.import_module(f"shop.{m}") for m in ("db", "models", "routes"))
        from sqlalchemy.pool import StaticPool
        from sqlalchemy import create_engine
        from sqlalchemy.orm import sessionmaker

        engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
        models.Base.metadata.create_all(engine)
        make = sessionmaker(bind=engine)
        with make() as session:
            session.add_all([models.Order(status="open", customer_id=1) for _ in range(700)])
            session.commit()

        def override():
            with make() as session:
                yield session

        app = FastAPI()
        app.include_router(routes.router)
        app.dependency_overrides[db.get_db] = override
        client = TestClient(app)
        assert len(client.get("/orders").json()) == 700
        assert len(client.get("/orders/page", params={"limit": 50}).json()) == 50
    finally:
        sys.path.remove(str(FIXTURES))
        for name in [m for m in sys.modules if m == "shop" or m.startswith("shop.")]:
            del sys.modules[name]

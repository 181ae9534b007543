"""LL501 examples for routes declared in an application factory, with their helpers beside them."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid

#: a route closure of ``create_app`` hands the uploads to a helper nested in ``create_app`` too;
#: ``app`` is rebound to what a wrapper returns before the routes are declared on it
_FACTORY = """
from io import BytesIO
from fastapi import FastAPI, UploadFile
from app.ui import mount_ui


def create_app():
    app = FastAPI()
    app = mount_ui(app)

    async def enqueue(files: list[UploadFile]):
        jobs = []
        for position, file in enumerate(files):
            jobs.append((position, BytesIO(file.file.read())))
        return jobs

    @app.post("/convert")
    async def convert(files: list[UploadFile]):
        return {"jobs": len(await enqueue(files=files))}

    return app
"""

_UI = {"app/__init__.py": "", "app/ui.py": "def mount_ui(app):\n    return app\n"}

APP_FACTORY_VALID = [
    # the helper copies each upload to disk in chunks
    Valid(_FACTORY.replace("jobs.append((position, BytesIO(file.file.read())))",
                           "jobs.append((position, shutil.copyfileobj(file.file, open(f'/tmp/{position}', 'wb'))))")
          .replace("from io import BytesIO", "import shutil"), files=_UI, path="app/main.py"),
]

APP_FACTORY_INVALID = [
    # the helper is reached from the route (a sibling closure), and `enumerate` keeps the upload
    Invalid(_FACTORY, files=_UI, path="app/main.py", line=13,
            message="`file.file.read()` reads the whole upload into memory"),
]

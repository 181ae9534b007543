"""LL501 examples for a body-size middleware that covers only some request paths."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid

#: a pure-ASGI limit on the body of `POST /media/videos`; every other request passes straight on
_VIDEO_LIMIT = """
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse


class VideoUploadLimit:
    def __init__(self, app, limit):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if not (scope.get("method") == "POST" and scope.get("path") == "/media/videos"):
            return await self.app(scope, receive, send)
        size = Headers(scope=scope).get("content-length")
        if size is not None and int(size) > self.limit:
            return await PlainTextResponse("too large", status_code=413)(scope, receive, send)
        await self.app(scope, receive, send)
"""

#: the same limit for every path but the health check
_LIMIT_BUT_HEALTH = _VIDEO_LIMIT.replace(
    'not (scope.get("method") == "POST" and scope.get("path") == "/media/videos")',
    'scope.get("path") in ("/health", "/ready")')

_APP = """
from fastapi import APIRouter, FastAPI, UploadFile
from app.limits import VideoUploadLimit

app = FastAPI()
app.add_middleware(VideoUploadLimit, limit=50_000_000)
router = APIRouter(prefix="/media")


@router.post("/videos")
async def add_video(file: UploadFile):
    data = await file.read()
    return {"size": len(data)}


@router.post("/images")
async def add_image(file: UploadFile):
    data = await file.read()
    return {"size": len(data)}

app.include_router(router)
"""

#: two routers whose routes share the path ``/upload``; the limit covers ``/api/videos/upload``
_TWO_ROUTERS = """
from fastapi import APIRouter, FastAPI, UploadFile
from app.limits import VideoUploadLimit

app = FastAPI()
app.add_middleware(VideoUploadLimit, limit=50_000_000)
videos = APIRouter(prefix="/videos")
images = APIRouter(prefix="/images/")


@videos.post("/upload")
async def add_video(file: UploadFile):
    return {"size": len(await file.read())}


@images.post("/upload")
async def add_image(file: UploadFile):
    return {"size": len(await file.read())}

app.include_router(videos, prefix="/api")
app.include_router(images, prefix="/api")
"""

PATH_LIMIT_VALID = [
    # a limit on every path but the probes bounds both uploads
    Valid(_APP, files={"app/__init__.py": "", "app/limits.py": _LIMIT_BUT_HEALTH}, path="app/main.py"),
]

PATH_LIMIT_INVALID = [
    # the limit covers the video route only (its path under the router's prefix): the image upload
    # is read whole with no bound, the video upload is not reported
    Invalid(_APP, files={"app/__init__.py": "", "app/limits.py": _VIDEO_LIMIT}, path="app/main.py",
            line=17, message="`file.read()` reads the whole upload into memory"),
    # the router's own prefix tells the image upload from the video upload that the limit covers
    Invalid(_TWO_ROUTERS, files={"app/__init__.py": "", "app/limits.py": _VIDEO_LIMIT.replace(
        '"/media/videos"', '"/api/videos/upload"')}, path="app/main.py", line=17, column=31,
            message="`file.read()` reads the whole upload into memory"),
]

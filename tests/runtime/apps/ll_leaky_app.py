"""Test app: two leaking endpoints (module-level list, leaking yield-dependency) and clean ones."""

from contextlib import asynccontextmanager

from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, UploadFile
from fastapi.responses import PlainTextResponse, StreamingResponse

from ll_leaky_deps import Session, get_session

REQUEST_LOG = []
BACKGROUND_DONE = {"count": 0}


@asynccontextmanager
async def lifespan(app):
    yield {"greeting": "hello"}


app = FastAPI(lifespan=lifespan)
router = APIRouter(prefix="/v1")


def remember(item):
    REQUEST_LOG.append(item)  # leak: grows with every request


@app.get("/leak")
async def leak():
    remember({"payload": bytearray(4096)})
    return {"n": len(REQUEST_LOG)}


@app.get("/leak-dep")
async def leak_dep(session: Session = Depends(get_session)):
    return {"closed": session.closed}


@app.get("/clean")
async def clean():
    data = [i * i for i in range(200)]
    return {"sum": sum(data)}


@app.get("/stream")
def stream():
    def chunks():
        for i in range(5):
            yield f"chunk {i}\n".encode()

    return StreamingResponse(chunks(), media_type="text/plain")


@app.post("/upload")
async def upload(file: UploadFile):
    data = await file.read()
    return {"name": file.filename, "size": len(data)}


def _bump():
    BACKGROUND_DONE["count"] += 1


@app.post("/work")
def work(tasks: BackgroundTasks):
    tasks.add_task(_bump)
    return PlainTextResponse("queued")


@router.get("/items/{item_id}")
def get_item(item_id: int, q: str = "none"):
    return {"item_id": item_id, "q": q}


app.include_router(router, prefix="/api")

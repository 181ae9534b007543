"""The same endpoints as ll_leaky_app after the fixes: bounded history, dependency cleans up in finally."""

import collections

from fastapi import Depends, FastAPI

from ll_leaky_deps import Session, get_fixed_session

REQUEST_LOG = collections.deque(maxlen=8)  # fix: bounded

app = FastAPI()


@app.get("/leak")
async def leak():
    REQUEST_LOG.append({"payload": bytearray(4096)})
    return {"n": len(REQUEST_LOG)}


@app.get("/leak-dep")
async def leak_dep(session: Session = Depends(get_fixed_session)):
    return {"closed": session.closed}

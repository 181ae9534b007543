"""Test app: for each resource counter, one endpoint that leaks exactly that resource and one that does not.

``release()`` gives back everything the leaking endpoints kept, so tests leave no threads, descriptors
or native memory behind.
"""

import asyncio
import contextvars
import ctypes
import os
import threading

from fastapi import Depends, FastAPI

app = FastAPI()

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
NATIVE_BLOCK = 64 * 1024
_PROT_RW = 0x1 | 0x2  # PROT_READ | PROT_WRITE
_MAP_PRIVATE_ANON = 0x02 | 0x20  # MAP_PRIVATE | MAP_ANONYMOUS (Linux)


def _native_block():
    """Fresh pages straight from the kernel (malloc could reuse pages already resident), touched."""
    block = _libc.mmap(None, NATIVE_BLOCK, _PROT_RW, _MAP_PRIVATE_ANON, -1, 0)
    if block in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "mmap failed")
    _libc.memset(block, 1, NATIVE_BLOCK)
    return block

KEPT_TASKS = set()
KEPT_FDS = []
KEPT_BLOCKS = []
KEPT_THREADS = []
STOP = threading.Event()
CURRENT_USER = contextvars.ContextVar("current_user")


@app.get("/tasks/leak")
async def tasks_leak():
    KEPT_TASKS.add(asyncio.create_task(asyncio.sleep(3600)))  # never awaited nor cancelled
    return {"tasks": len(KEPT_TASKS)}


@app.get("/tasks/clean")
async def tasks_clean():
    await asyncio.create_task(asyncio.sleep(0))
    return {"ok": True}


@app.get("/fds/leak")
def fds_leak():
    KEPT_FDS.append(os.open(os.devnull, os.O_RDONLY))  # a bare descriptor: no Python object closes it
    return {"fds": len(KEPT_FDS)}


@app.get("/fds/clean")
def fds_clean():
    with open(os.devnull, "rb") as fh:
        fh.read(1)
    return {"ok": True}


@app.get("/threads/leak")
def threads_leak():
    worker = threading.Thread(target=STOP.wait, daemon=True)  # waits until release()
    worker.start()
    KEPT_THREADS.append(worker)
    return {"threads": len(KEPT_THREADS)}


@app.get("/threads/clean")
def threads_clean():
    worker = threading.Thread(target=len, args=("x",))
    worker.start()
    worker.join()
    return {"ok": True}


@app.get("/native/leak")
def native_leak():
    KEPT_BLOCKS.append(_native_block())  # native memory: tracemalloc never sees it
    return {"blocks": len(KEPT_BLOCKS)}


@app.get("/native/clean")
def native_clean():
    _libc.munmap(_native_block(), NATIVE_BLOCK)
    return {"ok": True}


async def user_left_set():
    CURRENT_USER.set({"name": "ada"})  # LL301: no reset


async def user_reset():
    token = CURRENT_USER.set({"name": "ada"})
    yield
    CURRENT_USER.reset(token)


@app.get("/contextvar/leak", dependencies=[Depends(user_left_set)])
async def contextvar_leak():
    return {"user": CURRENT_USER.get()["name"]}


@app.get("/contextvar/clean", dependencies=[Depends(user_reset)])
async def contextvar_clean():
    return {"user": CURRENT_USER.get()["name"]}


def release():
    """Give back what the leaking endpoints kept (tests call this in teardown)."""
    STOP.set()
    for worker in KEPT_THREADS:
        worker.join(timeout=5)
    KEPT_THREADS.clear()
    STOP.clear()
    for fd in KEPT_FDS:
        os.close(fd)
    KEPT_FDS.clear()
    for block in KEPT_BLOCKS:
        _libc.munmap(block, NATIVE_BLOCK)
    KEPT_BLOCKS.clear()
    KEPT_TASKS.clear()  # the probe's driver cancelled them when its loop closed

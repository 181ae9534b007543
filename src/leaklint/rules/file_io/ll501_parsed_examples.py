"""LL501 examples for uploads read whole for a parser or a decoder, which needs every byte anyway."""

from __future__ import annotations

from leaklint.rule import Invalid
from leaklint.rules.file_io.ll501_whole_upload_read_valid_examples import UPLOAD_APP

PARSED_VALID = [
    # decoded as an image by OpenCV, which takes only a buffer: the pixels need every byte anyway
    UPLOAD_APP + """
import cv2
import numpy as np

@app.post("/photos/size")
async def photo_size(file: UploadFile):
    raw = await file.read()
    image = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    return {"shape": image.shape}
""",
    # parsed in a worker thread: the parser needs every byte anyway
    UPLOAD_APP + """
import asyncio
import json

@app.post("/presets/import")
async def import_presets(file: UploadFile):
    raw = await file.read()
    presets = await asyncio.to_thread(json.loads, raw)
    return {"count": len(presets)}
""",
]

PARSED_INVALID = [
    # Pillow can read `file.file` itself, lazily: reading it whole first adds a full copy
    Invalid(UPLOAD_APP + """
import io
from PIL import Image

@app.post("/thumbnails")
async def thumbnail(file: UploadFile):
    contents = await file.read()
    return {"size": Image.open(io.BytesIO(contents)).size}
""", line=10, message="reads the whole upload into memory"),
]

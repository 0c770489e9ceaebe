"""What Chromium's fake camera shows: scenes built from real photographs and real codes.

Chromium plays a Y4M file in a loop as its camera (`--use-file-for-fake-video-capture`). A scene
is one 640x480 picture: a donor's face from tests/data/faces on the left, and beside it what the
nurse holds up to the tablet (the check-in QR the API rendered, the bag label's Code 128 DIN),
so one video serves a whole visit: the page reads the code it is looking for, and the face check
reads the face. The face blinks: in three frames of ten both eyes are painted shut
(tests/factories/faces.paint_eyes_shut), at the size the page sends them, so the liveness check
is passed as it would be by a camera's capture of a blink, and nothing in it is changed for this.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from barcode import Code128
from barcode.writer import ImageWriter
from PIL import Image

from tests.factories import faces

WIDTH, HEIGHT = 640, 480
FACE_SIDE = 400
FRAMES_PER_SECOND = 10
SHUT_FRAMES = (4, 5, 6)  # of ten: a blink of about 0.3 s, once a second


def code128(text: str) -> Image.Image:
    """A bag label's bar code: `text` in Code 128, without the printed line under it."""
    options = {"module_width": 0.4, "module_height": 8, "quiet_zone": 4, "write_text": False}
    options["dpi"] = 200
    return Code128(text, writer=ImageWriter()).render(options).convert("RGB")


def scene(
    face: str | None = "harington_1.jpg",
    qr_png: bytes | None = None,
    barcode: str | None = None,
    frames: int = 10,
) -> list[Image.Image]:
    """The frames of one loop: the face (blinking), a QR code and a bar code, each optional."""
    backdrop = Image.new("RGB", (WIDTH, HEIGHT), "white")
    if qr_png is not None:
        qr = Image.open(io.BytesIO(qr_png)).convert("RGB").resize((220, 220), Image.NEAREST)
        backdrop.paste(qr, (410, 10))
    if barcode is not None:
        label = code128(barcode)
        backdrop.paste(label.resize((min(label.width, WIDTH - 10), 64)), (5, 410))
    if face is None:
        return [backdrop] * frames
    opened = np.asarray(faces.face_centred(face, FACE_SIDE))
    shut = faces.paint_eyes_shut(opened)
    loop = []
    for index in range(frames):
        frame = backdrop.copy()
        frame.paste(Image.fromarray(shut if index % 10 in SHUT_FRAMES else opened), (0, 0))
        loop.append(frame)
    return loop


def write_y4m(frames: list[Image.Image], path: Path, fps: int = FRAMES_PER_SECOND) -> Path:
    """The frames as a Y4M video (4:2:0, as Chromium's fake capture reads it)."""
    width, height = frames[0].size
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            luma, blue, red = frame.convert("YCbCr").split()
            out.write(b"FRAME\n")
            out.write(luma.tobytes())
            for chroma in (blue, red):
                out.write(chroma.resize((width // 2, height // 2), Image.BILINEAR).tobytes())
    return path

"""Face photos from tests/data/faces and builders for consent, enrolment and bursts.

Bursts here are made from real photographs. No photo shows closed eyes, so no burst built from
them holds a real blink; they stand for the attacks a blink check must refuse (a still held to the
camera, a still sent as every frame, a set of different photos, a face swapped mid-burst).
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
from flask.testing import FlaskClient
from PIL import Image

from tests.factories import bearer

PHOTOS = Path(__file__).resolve().parent.parent / "data" / "faces"
# One photo of each person shown alone, whole and large enough.
PORTRAITS = [
    "obama_1.jpg",
    "obama_2.jpg",
    "obama_3.jpg",
    "obama_5.jpg",
    "biden_1.jpg",
    "biden_2.jpg",
    "harington_1.jpg",
    "harington_2.jpg",
    "harington_3.jpg",
    "leslie_1.jpg",
    "leslie_2.jpg",
    "lacamoire_1.png",
    "lacamoire_2.jpg",
    "miranda_1.jpg",
]


def person(name: str) -> str:
    return name.split("_")[0]


def photo(name: str) -> bytes:
    return (PHOTOS / name).read_bytes()


def picture(name: str) -> Image.Image:
    return Image.open(PHOTOS / name).convert("RGB")


def as_jpeg(image: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def without_face() -> bytes:
    """A real photograph with no face in it: the suit and hands below Obama's chin."""
    image = picture("obama_1.jpg")
    width, height = image.size
    return as_jpeg(image.crop((0, height * 55 // 100, width, height)))


def with_small_face() -> bytes:
    """A real portrait shrunk until the face is about 50 pixels across."""
    image = picture("obama_2.jpg")
    return as_jpeg(image.resize((image.width * 150 // image.height, 150)))


def still_through_a_camera(name: str, frames: int = 8, seed: int = 5) -> list[bytes]:
    """A still photo held before a camera: the same picture each frame, with sensor noise and a
    hand's shake of a pixel or two, as 640-pixel JPEG frames."""
    rng = np.random.default_rng(seed)
    base = picture(name)
    base.thumbnail((640, 640))
    pixels = np.asarray(base).astype(np.int16)
    burst = []
    for _ in range(frames):
        shift = tuple(int(v) for v in rng.integers(-2, 3, size=2))
        noisy = np.roll(pixels, shift, axis=(0, 1)) + rng.normal(0, 3, pixels.shape)
        burst.append(as_jpeg(Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))))
    return burst


def face_centred(name: str, size: int = 480) -> Image.Image:
    """The photo cropped and scaled so that its face fills the middle of a square frame."""
    from donors import face_engine

    image = picture(name)
    box = face_engine.find_faces(np.asarray(image), upsample=1)[0]
    side = (box.bottom - box.top) * 2
    middle_x, middle_y = (box.left + box.right) // 2, (box.top + box.bottom) // 2
    crop = image.crop(
        (middle_x - side // 2, middle_y - side // 2, middle_x + side // 2, middle_y + side // 2)
    )
    return crop.resize((size, size))


def consent(client: FlaskClient, token: str, **overrides: Any) -> Any:
    """Read the current consent text's version and agree to it."""
    version = client.get("/api/v1/me/face", headers=bearer(token)).get_json()["consent_text"]
    body = {"version": version["version"], "agree": True, "device": "iPhone 15 / WeChat 8.0"}
    return client.post("/api/v1/me/face/consent", json={**body, **overrides}, headers=bearer(token))


def enrol(client: FlaskClient, token: str, image: bytes | str, **fields: Any) -> Any:
    data = photo(image) if isinstance(image, str) else image
    return client.post(
        "/api/v1/me/face", json={"photo": b64(data), **fields}, headers=bearer(token)
    )

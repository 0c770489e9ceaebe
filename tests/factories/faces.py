"""Face photos from tests/data/faces and builders for consent, enrolment and bursts.

Bursts here are made from real photographs. No photo shows closed eyes, so no burst built from
them holds a real blink; most stand for the attacks a blink check must refuse (a still held to the
camera, a still sent as every frame, a set of different photos, a face swapped mid-burst).
`synthetic_blink_burst` is the one exception, for the accepting path: eyelids painted closed on
a real photo, a stand-in for a camera capture of a blink, and named as such.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
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


def synthetic_blink_burst(
    name: str, frames: int = 9, shut: Sequence[int] = (3, 4, 5), seed: int = 5
) -> list[bytes]:
    """Eyelids painted closed on a real photo; a stand-in for a camera capture of a blink.

    The photo `name`, at most 640 pixels, as JPEG frames with sensor noise and a hand's shake of
    a pixel or two (as `still_through_a_camera`); in the frames numbered in `shut` both eyes are
    painted closed (`paint_eyes_shut`). At ten frames a second, three shut frames are a blink of
    about 0.3 s. Nothing about the liveness check is changed for it: the painted frames must make
    the eye aspect ratio that dlib's landmarks give really drop, and tests assert that it does.
    """
    rng = np.random.default_rng(seed)
    base = picture(name)
    base.thumbnail((640, 640))
    opened = np.asarray(base)
    closed = paint_eyes_shut(opened)
    burst = []
    for index in range(frames):
        pixels = (closed if index in shut else opened).astype(np.int16)
        shift = tuple(int(v) for v in rng.integers(-2, 3, size=2))
        noisy = np.roll(pixels, shift, axis=(0, 1)) + rng.normal(0, 3, pixels.shape)
        burst.append(as_jpeg(Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))))
    return burst


def paint_eyes_shut(pixels: np.ndarray) -> np.ndarray:
    """The one face in `pixels` with both eyes painted closed, found by the library's landmarks.

    Each eye, with a margin for its lashes, is covered column by column with the skin just below
    it, and a near-black lash line is drawn where the lids of a shut eye meet. The line is about
    a fifth of the eye's width thick: dlib's landmark model reads a thin or tapered line as an
    open eye (its lid points spread out, and the eye aspect ratio rises); it reads this one as
    shut in most frames, though not in every one, hence three shut frames per burst.
    """
    from donors import face_engine

    height, width = pixels.shape[:2]
    (box,) = face_engine.find_faces(pixels, upsample=1)
    marks = face_engine.library().face_landmarks(pixels, [box.inside(height, width)])[0]
    painted = pixels.astype(float)
    for eye in ("left_eye", "right_eye"):
        _paint_eye_shut(painted, np.asarray(marks[eye], dtype=float))
    return np.clip(painted, 0, 255).astype(np.uint8)


def _paint_eye_shut(pixels: np.ndarray, eye: np.ndarray) -> None:
    """Paint one eye shut in place; `eye` is its six landmarks in dlib's order (corner, two upper
    lid points, corner, two lower lid points)."""
    eye_width = float(np.linalg.norm(eye[0] - eye[3]))
    upper_lid, lower_lid = eye[[0, 1, 2, 3]], eye[[0, 5, 4, 3]]
    margin, ramp, half_line = 0.12 * eye_width, 0.25 * eye_width, 0.1 * eye_width
    first, last = int(eye[0, 0] - ramp), int(np.ceil(eye[3, 0] + ramp))
    for x in range(first, last + 1):
        upper = float(np.interp(x, upper_lid[:, 0], upper_lid[:, 1]))
        lower = float(np.interp(x, lower_lid[:, 0], lower_lid[:, 1]))
        top, bottom = upper - margin, lower + margin
        rows = np.arange(int(np.floor(top)), int(np.ceil(bottom)) + 1)
        below = np.clip(rows + int(np.ceil(bottom - top)) + 1, 0, pixels.shape[0] - 1)
        # Soft edges: at the eye's top and bottom, and fading out beyond its corners.
        edge = np.clip(np.minimum(rows - top, bottom - rows) / 2 + 0.5, 0, 1)[:, None]
        cover = edge * float(np.clip(min(x - first, last - x) / ramp, 0, 1))
        pixels[rows, x] = pixels[below, x] * cover + pixels[rows, x] * (1 - cover)
        if eye[0, 0] <= x <= eye[3, 0]:
            meet = upper + 0.8 * (lower - upper)  # a shut eye's lids meet low, by the lower lid
            line = np.arange(int(meet - half_line) - 2, int(meet + half_line) + 3)
            ink = np.clip(half_line + 0.5 - np.abs(line - meet), 0, 1)[:, None]
            pixels[line, x] = pixels[line, x] * (1 - ink * 0.95)


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

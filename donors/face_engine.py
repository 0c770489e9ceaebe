"""Images in, faces out: decoding, detection, landmarks, encodings and eye aspect ratio.

Pure computation over bytes and pixels, with no database and no Flask, so the rules in
`donors.faces`, the tests and the benchmark share it. The face_recognition library (dlib's HOG
detector, 68-point landmarks and ResNet encoder) is loaded once, on first use: an API worker that
never checks a face does not carry its models.
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from types import ModuleType

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from core.errors import ApiError

MODEL = "dlib_face_recognition_resnet_model_v1"
ENCODING_SIZE = 128
ACCEPTED_FORMATS = ("JPEG", "PNG")
_ENCODING_PREFIX = "f32:"
# A box may stick out of the picture by this share of its size and still hold a whole face:
# the detector's box is looser than the face itself.
_BOX_OVERFLOW_ALLOWED = 0.1


@cache
def library() -> ModuleType:
    """face_recognition, imported so that a broken installation fails loudly.

    face_recognition answers a failed import of its models by printing a hint and calling
    exit(0), which would end a server or a test run "successfully". Importing the models first
    raises the real error instead (pkg_resources is missing with setuptools 81 and later).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="pkg_resources is deprecated", category=UserWarning
        )
        import face_recognition_models  # noqa: F401

    import face_recognition

    # The library makes Pillow accept truncated files everywhere; we want those refused.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    return face_recognition


@dataclass(frozen=True)
class FaceBox:
    """Where the detector saw a face, in pixels of the analysed picture (may leave the frame)."""

    top: int
    right: int
    bottom: int
    left: int

    @property
    def size(self) -> int:
        return min(self.bottom - self.top, self.right - self.left)

    def cut_off(self, height: int, width: int) -> bool:
        """Whether part of the face lies outside the picture (a face at the edge, half a face)."""
        slack_x = (self.right - self.left) * _BOX_OVERFLOW_ALLOWED
        slack_y = (self.bottom - self.top) * _BOX_OVERFLOW_ALLOWED
        return (
            self.left < -slack_x
            or self.top < -slack_y
            or self.right > width + slack_x
            or self.bottom > height + slack_y
        )

    def inside(self, height: int, width: int) -> tuple[int, int, int, int]:
        """The box clipped to the picture, in face_recognition's (top, right, bottom, left)."""
        top, right = max(self.top, 0), min(self.right, width)
        return (top, right, min(self.bottom, height), max(self.left, 0))

    def overlap(self, other: FaceBox) -> float:
        """Intersection over union: how much two boxes cover the same place."""
        width = min(self.right, other.right) - max(self.left, other.left)
        height = min(self.bottom, other.bottom) - max(self.top, other.top)
        if width <= 0 or height <= 0:
            return 0.0
        shared = width * height
        area = (self.right - self.left) * (self.bottom - self.top)
        other_area = (other.right - other.left) * (other.bottom - other.top)
        return shared / (area + other_area - shared)


def decode(data: bytes, *, max_side: int, max_pixels: int) -> np.ndarray:
    """A JPEG or PNG as RGB pixels, upright (EXIF orientation applied), at most `max_side` wide.

    Damaged, truncated or other files are `face_image_unreadable`; an image whose header
    announces more than `max_pixels` is refused before it is decoded (decompression bombs).
    """
    library()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise ApiError("face_image_format", 422)
            width, height = image.size
            if width * height > max_pixels:
                raise ApiError("face_image_too_large", 413)
            if image.format == "JPEG":
                image.draft("RGB", _fitted(width, height, max_side))  # decode at a reduced scale
            image = ImageOps.exif_transpose(image)
            image = image.convert("RGB")
            if max(image.size) > max_side:
                image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            return np.asarray(image)
    except ApiError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ApiError("face_image_too_large", 413) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise ApiError("face_image_unreadable", 422) from None
    except Exception:  # any other failure of a decoder on untrusted bytes: still not a 500
        raise ApiError("face_image_unreadable", 422) from None


def _fitted(width: int, height: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def find_faces(pixels: np.ndarray, upsample: int) -> list[FaceBox]:
    """Every face dlib's HOG detector sees; `upsample` 1 finds faces down to about 40 pixels."""
    detector = library().api.face_detector
    return [
        FaceBox(rect.top(), rect.right(), rect.bottom(), rect.left())
        for rect in detector(pixels, upsample)
    ]


def eye_aspect_ratio(eye: Sequence[tuple[float, float]]) -> float:
    """Soukupová and Čech (2016): eyelid opening over eye width, about 0.3 open, near 0 shut.

    `eye` is the six landmarks of one eye in dlib's order: corner, two upper lid points,
    corner, two lower lid points.
    """
    p = np.asarray(eye, dtype=float)
    vertical = np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])
    horizontal = np.linalg.norm(p[0] - p[3])
    return float(vertical / (2.0 * horizontal)) if horizontal else 0.0


def eye_openness(pixels: np.ndarray, box: FaceBox) -> float:
    """The mean eye aspect ratio of both eyes of the face in `box`."""
    height, width = pixels.shape[:2]
    marks = library().face_landmarks(pixels, [box.inside(height, width)])[0]
    return (eye_aspect_ratio(marks["left_eye"]) + eye_aspect_ratio(marks["right_eye"])) / 2


def encode(pixels: np.ndarray, box: FaceBox) -> np.ndarray:
    """The 128-d encoding of the face in `box` (the library's defaults: 5-point alignment)."""
    height, width = pixels.shape[:2]
    return library().face_encodings(pixels, [box.inside(height, width)])[0]


def distances(known: np.ndarray, probe: np.ndarray) -> np.ndarray:
    """Euclidean distances from `probe` to each row of `known` (smaller is more alike)."""
    if len(known) == 0:
        return np.empty(0)
    return np.linalg.norm(known - probe, axis=1)


def pack(encoding: np.ndarray) -> str:
    """A compact text form of an encoding: 128 little-endian float32, base64 (688 characters)."""
    raw = np.asarray(encoding, dtype="<f4")
    if raw.shape != (ENCODING_SIZE,):
        raise ValueError(f"an encoding has {ENCODING_SIZE} values, got shape {raw.shape}")
    return _ENCODING_PREFIX + base64.b64encode(raw.tobytes()).decode("ascii")


def unpack(text: str) -> np.ndarray:
    if not text.startswith(_ENCODING_PREFIX):
        raise ValueError("unknown encoding format")
    raw = base64.b64decode(text[len(_ENCODING_PREFIX) :])
    return np.frombuffer(raw, dtype="<f4").astype(np.float64)


def jpeg(pixels: np.ndarray, max_side: int, quality: int = 85) -> bytes:
    """Re-encode pixels as a small JPEG with no metadata (no EXIF, so no place or device)."""
    image = Image.fromarray(pixels)
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()

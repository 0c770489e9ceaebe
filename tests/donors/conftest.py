"""The test photos analysed once per session (detection and encoding cost ~0.1-0.3 s each)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from donors.settings import SETTINGS
from tests.factories.faces import PORTRAITS, photo

FACES: dict = dict(SETTINGS.defaults)


@dataclass(frozen=True)
class Analysed:
    pixels: np.ndarray
    faces: list  # face_engine.FaceBox, as enrolment's detector finds them
    encoding: np.ndarray | None  # of the one face, when there is exactly one


@pytest.fixture(scope="session")
def analysed() -> dict[str, Analysed]:
    """Every portrait, decoded and searched as enrolment does it, by file name."""
    from donors import face_engine

    found = {}
    for name in PORTRAITS:
        pixels = face_engine.decode(
            photo(name),
            max_side=FACES["FACE_ENROL_MAX_SIDE"],
            max_pixels=FACES["FACE_IMAGE_MAX_PIXELS"],
        )
        faces = face_engine.find_faces(pixels, upsample=1)
        encoding = face_engine.encode(pixels, faces[0]) if len(faces) == 1 else None
        found[name] = Analysed(pixels, faces, encoding)
    return found


@pytest.fixture(scope="session")
def encodings(analysed: dict[str, Analysed]) -> dict[str, np.ndarray]:
    return {name: item.encoding for name, item in analysed.items()}

"""The face engine on real photographs: the library loads, decoding refuses what it should,
faces are found, measured and encoded, and eye openness is computed from the landmarks."""

from __future__ import annotations

import io
import itertools
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageFile

from core.config import PROJECT_ROOT
from core.errors import ApiError
from donors import face_engine
from donors.faces import blinked
from donors.settings import SETTINGS
from tests.factories.faces import PORTRAITS, as_jpeg, person, photo, picture

FACES: dict = dict(SETTINGS.defaults)

LIMITS = {
    "max_side": FACES["FACE_ENROL_MAX_SIDE"],
    "max_pixels": FACES["FACE_IMAGE_MAX_PIXELS"],
}


def decoded(name: str) -> np.ndarray:
    return face_engine.decode(photo(name), **LIMITS)


def refusal(data: bytes) -> ApiError:
    with pytest.raises(ApiError) as caught:
        face_engine.decode(data, **LIMITS)
    return caught.value


def test_face_recognition_loads_in_a_fresh_process_and_does_not_exit_early():
    # face_recognition exits with status 0 when its models fail to import; the last line must
    # still be printed, by a process that loaded the models and encoded a face.
    script = (
        "import numpy as np; from donors import face_engine as e; "
        f"p = e.decode(open({str(face_engine_photo())!r}, 'rb').read(), max_side=640, "
        "max_pixels=10**8); (b,) = e.find_faces(p, 1); "
        "print('encoded', len(e.encode(p, b)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "encoded 128"


def face_engine_photo():
    from tests.factories.faces import PHOTOS

    return PHOTOS / "obama_2.jpg"


def test_the_library_leaves_truncated_images_refused():
    face_engine.library()
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_an_encoding_has_128_finite_values(encodings):
    for encoding in encodings.values():
        assert encoding.shape == (128,)
        assert np.isfinite(encoding).all() and np.abs(encoding).sum() > 0


def test_encodings_survive_their_compact_text_form(encodings):
    encoding = encodings["obama_1.jpg"]
    text = face_engine.pack(encoding)
    assert len(text) < 700
    assert np.abs(face_engine.unpack(text) - encoding).max() < 1e-6


def test_photos_of_one_person_are_within_the_match_threshold(encodings):
    # Obama's four independent portraits; lacamoire_1/2 (0.52 apart) are the measured false
    # reject at 0.5, reported by bench/faces.py.
    obama = [name for name in encodings if person(name) == "obama"]
    for first, second in itertools.combinations(obama, 2):
        distance = np.linalg.norm(encodings[first] - encodings[second])
        assert distance <= FACES["FACE_MATCH_THRESHOLD"], (first, second, distance)


def test_photos_of_different_people_are_beyond_the_match_threshold(encodings):
    for first, second in itertools.combinations(encodings, 2):
        if person(first) != person(second):
            distance = np.linalg.norm(encodings[first] - encodings[second])
            assert distance > FACES["FACE_MATCH_THRESHOLD"], (first, second, distance)


def test_each_portrait_shows_one_whole_face_large_enough(analysed):
    for name in PORTRAITS:
        (box,) = analysed[name].faces
        assert not box.cut_off(*analysed[name].pixels.shape[:2]), name
        assert box.size >= FACES["FACE_MIN_FACE_PIXELS"], name


def test_half_a_face_at_the_edge_is_cut_off():
    pixels = decoded("partial_obama.jpg")
    (box,) = face_engine.find_faces(pixels, upsample=1)
    assert box.cut_off(*pixels.shape[:2])


def test_group_photos_show_several_faces():
    assert len(face_engine.find_faces(decoded("multi_two_people.jpg"), upsample=1)) == 2
    assert len(face_engine.find_faces(decoded("multi_obama_biden.jpg"), upsample=1)) == 3


def test_eye_aspect_ratio_of_a_known_shape():
    # Soukupová and Čech (2016): (|p2-p6| + |p3-p5|) / (2 |p1-p4|); here 2h / 3.
    h = 0.6
    eye = [(0, 0), (1, -h), (2, -h), (3, 0), (2, h), (1, h)]
    assert face_engine.eye_aspect_ratio(eye) == pytest.approx(2 * (2 * h) / (2 * 3))
    assert face_engine.eye_aspect_ratio([(0, 0), (1, 0), (2, 0), (3, 0), (2, 0), (1, 0)]) == 0


def test_open_eyes_in_the_portraits_measure_as_open(analysed):
    # Every portrait has open eyes: the ratio sits in the open range, well above a shut eye.
    for name in PORTRAITS:
        (box,) = analysed[name].faces
        assert 0.17 < face_engine.eye_openness(analysed[name].pixels, box) < 0.5, name


def test_a_squint_measures_lower_than_the_same_man_s_open_eyes(analysed):
    group = decoded("multi_obama_biden.jpg")
    portrait = analysed["biden_1.jpg"]
    biden = min(
        face_engine.find_faces(group, upsample=1),
        key=lambda box: np.linalg.norm(face_engine.encode(group, box) - portrait.encoding),
    )
    squint = face_engine.eye_openness(group, biden)
    assert squint < face_engine.eye_openness(portrait.pixels, portrait.faces[0])


def test_a_blink_is_open_then_shut_then_open_again():
    # The decision rule on eye aspect ratios (no photo here shows shut eyes).
    assert blinked([0.31, 0.30, 0.32, 0.12, 0.29, 0.31], 0.7, 0.9)
    assert blinked([0.30, 0.30, 0.18, 0.10, 0.19, 0.31, 0.30], 0.7, 0.9)


def test_steady_eyes_with_noise_are_no_blink():
    rng = np.random.default_rng(1)
    assert not blinked(list(0.3 + rng.normal(0, 0.01, 20)), 0.7, 0.9)


def test_eyes_that_shut_and_stay_shut_are_no_blink():
    assert not blinked([0.31, 0.30, 0.31, 0.12, 0.11], 0.7, 0.9)
    assert not blinked([0.12, 0.11, 0.30, 0.31, 0.30], 0.7, 0.9)


def test_png_photos_decode():
    assert decoded("lacamoire_1.png").shape[2] == 3


def test_big_photos_are_analysed_downscaled():
    image = picture("obama_2.jpg")
    big = as_jpeg(image.resize((image.width * 3, image.height * 3)))
    pixels = face_engine.decode(big, **LIMITS)
    assert max(pixels.shape[:2]) == LIMITS["max_side"]
    assert len(face_engine.find_faces(pixels, upsample=1)) == 1


def test_the_camera_s_orientation_tag_is_applied():
    image = picture("obama_2.jpg").rotate(90, expand=True)  # stored sideways
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90 degrees clockwise to display"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    pixels = face_engine.decode(out.getvalue(), **LIMITS)
    assert pixels.shape[0] > pixels.shape[1]  # upright again: taller than wide
    assert len(face_engine.find_faces(pixels, upsample=1)) == 1
    assert len(face_engine.find_faces(np.asarray(image), upsample=1)) == 0


def test_other_formats_are_refused():
    out = io.BytesIO()
    picture("obama_2.jpg").save(out, format="GIF")
    assert refusal(out.getvalue()).code == "face_image_format"


def test_damaged_and_truncated_files_are_unreadable():
    assert refusal(b"not an image at all").code == "face_image_unreadable"
    data = photo("obama_2.jpg")
    assert refusal(data[: len(data) // 2]).code == "face_image_unreadable"
    png = photo("lacamoire_1.png")
    assert refusal(png[: len(png) // 2]).code == "face_image_unreadable"


def test_an_image_announcing_too_many_pixels_is_refused_before_decoding():
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, format="PNG")
    error = refusal(out.getvalue())
    assert (error.code, error.status) == ("face_image_too_large", 413)
    with pytest.raises(ApiError) as caught:
        face_engine.decode(photo("obama_2.jpg"), max_side=640, max_pixels=1000)
    assert caught.value.code == "face_image_too_large"


def test_kept_photos_are_small_and_carry_no_metadata():
    image = picture("obama_2.jpg")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    kept = Image.open(
        io.BytesIO(face_engine.jpeg(face_engine.decode(out.getvalue(), **LIMITS), 640))
    )
    assert max(kept.size) <= 640
    assert not kept.getexif()


def test_randomly_damaged_photos_decode_or_are_refused_never_crash():
    rng = np.random.default_rng(11)
    outcomes = set()
    for name in ("obama_2.jpg", "lacamoire_1.png"):
        original = np.frombuffer(photo(name), dtype=np.uint8)
        for _ in range(40):
            damaged = original.copy()
            places = rng.integers(0, min(len(damaged), 3000), size=rng.integers(1, 20))
            damaged[places] = rng.integers(0, 256, size=len(places))
            try:
                face_engine.decode(damaged.tobytes(), max_side=320, max_pixels=10**7)
                outcomes.add("decoded")
            except ApiError as error:
                outcomes.add(error.code)
    assert outcomes <= {"decoded", "face_image_unreadable", "face_image_format"}
    assert "face_image_unreadable" in outcomes

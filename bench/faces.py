"""Face check: accuracy at the configured thresholds, and the time of 1:1 and 1:N checks.

    .venv/bin/python -m bench.faces [--photos tests/data/faces] [--gallery 2000] [--runs 30]

Prints, on one core (OMP/OpenBLAS threads set to 1):
1. False-accept and false-reject rates over all pairs of the test photos, at FACE_MATCH_THRESHOLD
   and a few other thresholds: an enrolment photo (analysed at 1024 pixels) against another photo
   taken as a 640x480 capture, as at check-in.
2. 1:N on the real photos: one enrolled photo per person, every other photo searched, with and
   without its person enrolled (FACE_IDENTIFY_THRESHOLD and FACE_IDENTIFY_MARGIN).
3. Time to decode, detect, encode and compare one 640x480 capture (p50/p95), and a whole
   8-frame burst with its liveness check.
4. 1:N over 2,000 enrolled encodings: one real donor per person plus synthetic ones (a real
   encoding plus Gaussian noise, at two noise levels), how often the rule answers right, wrong
   or not at all, and the time of `search_enrolled` (load, decrypt, compare) on PostgreSQL.
Nothing is asserted; the figures are for choosing thresholds and sizing machines.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import io  # noqa: E402
import itertools  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from bench.harness import ROOT, app_env, machine, migrate, postgres  # noqa: E402

DEFAULT_PHOTOS = ROOT / "tests" / "data" / "faces"
# Not independent captures: obama_4 is obama_1 letterboxed (tests/data/faces/README.md).
SAME_PHOTOGRAPH = {"obama_4.jpg"}
THRESHOLDS = (0.40, 0.45, 0.50, 0.55, 0.60)


def person(name: str) -> str:
    return name.split("_")[0]


def portraits(directory: Path) -> list[Path]:
    return sorted(
        path
        for path in directory.iterdir()
        if path.suffix.lower() in (".jpg", ".jpeg", ".png")
        and not path.name.startswith(("multi_", "partial_"))
        and path.name not in SAME_PHOTOGRAPH
    )


def capture_640x480(path: Path) -> bytes:
    """The photo as a 640x480 camera frame (scaled to fit, padded), JPEG quality 90."""
    image = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    frame = ImageOps.pad(image, (640, 480), color=(128, 128, 128))
    out = io.BytesIO()
    frame.save(out, format="JPEG", quality=90)
    return out.getvalue()


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {p50 * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   ({len(ordered)} runs)"


def rates(genuine: list[float], impostor: list[float], threshold: float) -> tuple[str, str]:
    rejected = sum(d > threshold for d in genuine)
    accepted = sum(d <= threshold for d in impostor)
    return (
        f"{accepted / len(impostor):6.2%} ({accepted}/{len(impostor)})",
        f"{rejected / len(genuine):6.2%} ({rejected}/{len(genuine)})",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--gallery", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    print(f"machine: {machine()}; OMP/OpenBLAS threads 1")

    from app import create_app
    from donors import face_engine

    config = create_app({"APP_ENV": "testing"}).config
    match_at = config["FACE_MATCH_THRESHOLD"]
    identify_at, margin_at = config["FACE_IDENTIFY_THRESHOLD"], config["FACE_IDENTIFY_MARGIN"]

    paths = portraits(args.photos)
    enrolled, captured = {}, {}
    for path in paths:
        pixels = face_engine.decode(
            path.read_bytes(),
            max_side=config["FACE_ENROL_MAX_SIDE"],
            max_pixels=config["FACE_IMAGE_MAX_PIXELS"],
        )
        (box,) = face_engine.find_faces(pixels, upsample=1)
        enrolled[path.name] = face_engine.encode(pixels, box)
        frame = face_engine.decode(capture_640x480(path), max_side=640, max_pixels=10**7)
        faces = face_engine.find_faces(frame, 0) or face_engine.find_faces(frame, 1)
        captured[path.name] = face_engine.encode(frame, faces[0])

    names = sorted(enrolled)
    people = sorted({person(name) for name in names})
    print(
        f"\n1. Accuracy: {len(names)} photos of {len(people)} people "
        f"({', '.join(people)}); {', '.join(sorted(SAME_PHOTOGRAPH))} left out (a copy)"
    )
    genuine, impostor = [], []
    for enrolled_name, captured_name in itertools.permutations(names, 2):
        distance = float(np.linalg.norm(enrolled[enrolled_name] - captured[captured_name]))
        same = person(enrolled_name) == person(captured_name)
        (genuine if same else impostor).append(distance)
    print(
        f"   enrolment photo vs another photo as a 640x480 capture: {len(genuine)} genuine "
        f"and {len(impostor)} impostor ordered pairs"
    )
    print(
        f"   genuine distance: min {min(genuine):.3f} median {statistics.median(genuine):.3f} "
        f"max {max(genuine):.3f};  impostor: min {min(impostor):.3f} "
        f"median {statistics.median(impostor):.3f} max {max(impostor):.3f}"
    )
    print(f"   {'threshold':>9}   {'false accepts (FAR)':<22} {'false rejects (FRR)':<22}")
    for threshold in sorted({*THRESHOLDS, match_at}):
        far, frr = rates(genuine, impostor, threshold)
        mark = "  <- FACE_MATCH_THRESHOLD" if threshold == match_at else ""
        print(f"   {threshold:>9.2f}   {far:<22} {frr:<22}{mark}")
    symmetric_g, symmetric_i = [], []
    for first, second in itertools.combinations(names, 2):
        distance = float(np.linalg.norm(enrolled[first] - enrolled[second]))
        (symmetric_g if person(first) == person(second) else symmetric_i).append(distance)
    far, frr = rates(symmetric_g, symmetric_i, match_at)
    print(f"   photo vs photo (both at 1024 px), at {match_at}: FAR {far}, FRR {frr}")

    print(
        f"\n2. 1:N on the real photos (threshold {identify_at}, margin {margin_at}): "
        "gallery = each person's first photo"
    )
    first_photo = {person(name): name for name in reversed(names)}
    real = sorted(first_photo.values())
    probes = {name: captured[name] for name in names if name not in real}
    known = {name: enrolled[name] for name in real}
    print(f"   enrolled person searched: {one_to_many(known, probes, identify_at, margin_at)}")
    strangers: dict[str, int] = {}
    for name, probe in probes.items():
        others = {n: e for n, e in known.items() if person(n) != person(name)}
        outcome = one_to_many(others, {name: probe}, identify_at, margin_at, tally=True)
        for key, count in outcome.items():
            strangers[key] = strangers.get(key, 0) + count
    print(f"   person not enrolled (own photo left out of the gallery): {strangers}")

    print("\n3. Time on one core")
    captures = [capture_640x480(path) for path in paths]
    one = []
    for run in range(args.runs):
        data = captures[run % len(captures)]
        known = enrolled[paths[run % len(paths)].name]
        start = time.perf_counter()
        frame = face_engine.decode(data, max_side=640, max_pixels=10**7)
        faces = face_engine.find_faces(frame, 0) or face_engine.find_faces(frame, 1)
        probe = face_engine.encode(frame, faces[0])
        float(np.linalg.norm(known - probe))
        one.append(time.perf_counter() - start)
    print(f"   one 640x480 capture: decode, detect, encode, compare   {percentiles(one)}")
    bursts = _burst_times(config, paths, args.runs // 3 or 1)
    print(f"   one 8-frame 640x480 burst: liveness + 1:1            {percentiles(bursts)}")

    print(f"\n4. 1:N over {args.gallery} enrolled encodings on PostgreSQL 15")
    _one_to_many(enrolled, captured, args.gallery, args.runs, identify_at, margin_at)
    print(f"\nmachine after: {machine()}")


def _burst_times(config: dict, paths: list[Path], runs: int) -> list[float]:
    from app import create_app
    from donors import faces

    app = create_app({"APP_ENV": "testing"})
    samples = []
    with app.app_context():
        for run in range(runs):
            path = paths[run % len(paths)]
            frames = still_burst(path, frames=8, seed=run)
            start = time.perf_counter()
            try:
                faces.analyse_burst(frames)
            except Exception as error:  # the face is too small in a 640x480 frame: not timed
                print(f"   ({path.name} skipped: {error})")
                continue
            samples.append(time.perf_counter() - start)
    return samples


def still_burst(path: Path, frames: int, seed: int) -> list[bytes]:
    """A still photo before a camera: 640x480 frames of one picture with noise and shake."""
    rng = np.random.default_rng(seed)
    image = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    pixels = np.asarray(ImageOps.pad(image, (640, 480), color=(128, 128, 128))).astype(np.int16)
    burst = []
    for _ in range(frames):
        shift = tuple(int(v) for v in rng.integers(-2, 3, size=2))
        noisy = np.roll(pixels, shift, axis=(0, 1)) + rng.normal(0, 3, pixels.shape)
        out = io.BytesIO()
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=90)
        burst.append(out.getvalue())
    return burst


def one_to_many(
    gallery: dict[str, np.ndarray],
    probes: dict[str, np.ndarray],
    threshold: float,
    margin: float,
    *,
    tally: bool = False,
) -> dict[str, int] | str:
    """Search each probe with the service's rule; count right, wrong and refused answers."""
    from donors.faces import closest_clearly

    names = list(gallery)
    known = np.stack([gallery[name] for name in names])
    counts = {"right": 0, "wrong": 0, "ambiguous": 0, "no_match": 0}
    for name, probe in probes.items():
        index, reason, _, _ = closest_clearly(
            np.linalg.norm(known - probe, axis=1), threshold, margin
        )
        if index is None:
            counts[reason] += 1
        else:
            counts["right" if person(names[index]) == person(name) else "wrong"] += 1
    if tally:
        return counts
    return (
        f"{counts['right']} right, {counts['wrong']} wrong, no answer: "
        f"{counts['no_match']} too far, {counts['ambiguous']} ambiguous (of {len(probes)})"
    )


def _one_to_many(
    enrolled: dict[str, np.ndarray],
    captured: dict[str, np.ndarray],
    size: int,
    runs: int,
    threshold: float,
    margin: float,
) -> None:
    rng = np.random.default_rng(2026)
    seeds = list(enrolled.values())
    first_photo = {person(name): name for name in sorted(enrolled, reverse=True)}
    real = sorted(first_photo.values())
    probes = {name: captured[name] for name in sorted(captured) if name not in real}
    print(
        f"   gallery: {len(real)} real donors (each person's first photo) + {size - len(real)} "
        f"synthetic ones, each one of the {len(seeds)} real encodings plus Gaussian noise "
        f"N(0, sigma) on every value; probes: the other {len(probes)} photos as 640x480 captures"
    )
    galleries = {}
    for sigma, kind in ((0.05, "look-alikes"), (0.075, "strangers")):
        synthetic = [
            seeds[i % len(seeds)] + rng.normal(0, sigma, 128) for i in range(size - len(real))
        ]
        from_seed = [
            float(np.linalg.norm(s - seeds[i % len(seeds)])) for i, s in enumerate(synthetic)
        ]
        nearest = [
            float(np.min(np.linalg.norm(np.stack(synthetic) - probe, axis=1)))
            for probe in probes.values()
        ]
        gallery = {name: enrolled[name] for name in real}
        gallery.update({f"synthetic_{i}": encoding for i, encoding in enumerate(synthetic)})
        galleries[kind] = gallery
        print(
            f"   sigma {sigma} ({kind}): synthetic faces {statistics.median(from_seed):.2f} from "
            f"their real seed; nearest synthetic to a probe {min(nearest):.2f}-{max(nearest):.2f}"
        )
        print(f"      {one_to_many(gallery, probes, threshold, margin)}")
    print(
        "   (real strangers here are 0.69-1.03 apart, so sigma 0.05 plants ~150 look-alikes "
        "closer than any real stranger next to each real face: a harsh case)"
    )
    print("   the rule at other settings, look-alikes gallery:")
    for other_threshold in (0.40, 0.45, 0.50, 0.55):
        for other_margin in (0.05, 0.10):
            mark = (
                "  <- configured" if (other_threshold, other_margin) == (threshold, margin) else ""
            )
            outcome = one_to_many(galleries["look-alikes"], probes, other_threshold, other_margin)
            print(
                f"      threshold {other_threshold:.2f} margin {other_margin:.2f}: {outcome}{mark}"
            )

    gallery = list(galleries["look-alikes"].values())
    known = np.stack(gallery)
    pure = []
    for _ in range(runs * 10):
        start = time.perf_counter()
        np.argsort(np.linalg.norm(known - gallery[0], axis=1))
        pure.append(time.perf_counter() - start)
    print(f"   distances + ranking in memory (numpy)                 {percentiles(pure)}")

    with postgres("donor_bench_faces") as url:
        migrate(url)
        os.environ.update(app_env(url, APP_ENV="development"))
        from app import create_app
        from core.extensions import db
        from donors import faces

        app = create_app()
        with app.app_context():
            donor_ids = _insert_gallery(db, gallery)
            searched = []
            probe_list = list(probes.values())
            for run in range(runs):
                start = time.perf_counter()
                faces.search_enrolled(donor_ids, [probe_list[run % len(probe_list)]])
                searched.append(time.perf_counter() - start)
                db.session.rollback()
            print(
                f"   search_enrolled on PostgreSQL: load, decrypt, compare {len(donor_ids)}  "
                f"{percentiles(searched)}"
            )
            db.session.remove()
            db.engine.dispose()


def _insert_gallery(db, gallery: list[np.ndarray]) -> list[int]:
    from core import clock
    from donors import face_engine
    from donors.models import Donor, FaceConsent, FaceEnrolment

    ids = []
    for number, encoding in enumerate(gallery):
        donor = Donor(
            id_number_hash=f"bench-{number:064d}"[-64:],
            birth_date=date(1990, 1, 1),
            sex="female",
            city="杭州市",
        )
        db.session.add(donor)
        db.session.flush()
        consent = FaceConsent(
            donor_id=donor.id, version="bench", text_sha256="0" * 64, given_at=clock.now()
        )
        db.session.add(consent)
        db.session.flush()
        db.session.add(
            FaceEnrolment(
                donor_id=donor.id,
                consent_id=consent.id,
                encoding=face_engine.pack(encoding),
                model=face_engine.MODEL,
                face_pixels=200,
            )
        )
        ids.append(donor.id)
    db.session.commit()
    return ids


if __name__ == "__main__":
    main()

"""Face check: consent, enrolment, 1:1 verification at check-in, 1:N identification.

A face is biometric data, sensitive under PIPL: nothing here runs before the donor's separate
consent, only the 128-d encoding is kept (the photo too only if the donor asks), and every staff
check is audited without its images. No `request` in here, so the staff routes, the CLI and the
tests share these rules.

Replay resistance is a burst of frames in which the donor blinks. It stops a printed photo or a
still on a screen held to the camera (the eyes never close), a single still sent as every frame,
and a set of different photos passed off as a burst (the face jumps between frames). It does not
stop a video of the donor blinking replayed on a screen, a mask, or a client that forges frames
from such a video: those need depth or infrared cameras, or a challenge the server chooses.
"""

from __future__ import annotations

import base64
import hashlib
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from flask import current_app
from sqlalchemy import select

from core import audit, clock
from core.auth import Caller
from core.errors import ApiError
from core.extensions import db
from core.policy import PolicyReader, Sections, policy_for
from donors import face_engine as engine
from donors.models import DONOR_ACTIVE, Donor, FaceConsent, FaceEnrolment

# ---------------------------------------------------------------- policy: consent text, 1:N reach


@dataclass(frozen=True)
class FaceCheckPolicy:
    consent_version: str
    consent_text_zh: str
    identify_enrolled_in_city: bool
    source: str

    @property
    def consent_sha256(self) -> str:
        """Which exact words the donor agreed to, kept with the consent."""
        return hashlib.sha256(self.consent_text_zh.encode("utf-8")).hexdigest()


def _read_face_check(reader: PolicyReader) -> FaceCheckPolicy:
    return FaceCheckPolicy(
        consent_version=reader.text("consent_version"),
        consent_text_zh=reader.text("consent_text_zh").strip(),
        identify_enrolled_in_city=reader.get("identify_enrolled_in_city", bool),
        source=reader.source(),
    )


POLICY_SECTIONS: Sections = {"face_check": (_read_face_check, None)}


def face_policy(region: str | None) -> FaceCheckPolicy:
    return policy_for(region).section("face_check")


# ---------------------------------------------------------------- consent


def active_consent(donor: Donor) -> FaceConsent | None:
    return db.session.scalar(
        select(FaceConsent)
        .where(FaceConsent.donor_id == donor.id, FaceConsent.withdrawn_at.is_(None))
        .order_by(FaceConsent.given_at.desc(), FaceConsent.id.desc())
        .limit(1)
    )


def give_consent(donor: Donor, version: str, *, client_ip: str, device: str | None) -> FaceConsent:
    """Record the donor's consent to the text they were shown, before any photo is taken.

    Agreeing again to the same version changes nothing; agreeing to a newer text supersedes the
    older consent and carries the enrolment over to it.
    """
    policy = face_policy(donor.region)
    if version != policy.consent_version:
        raise ApiError("face_consent_outdated", 409, errors={"version": ["face_consent_outdated"]})
    current = active_consent(donor)
    if current is not None and current.version == version:
        return current
    consent = FaceConsent(
        donor_id=donor.id,
        version=version,
        text_sha256=policy.consent_sha256,
        given_at=clock.now(),
        client_ip=client_ip or None,
        device=(device or "")[:200] or None,
    )
    db.session.add(consent)
    db.session.flush()
    if current is not None:
        _withdraw([current], "superseded")
    enrolment = enrolment_of(donor)
    if enrolment is not None:
        enrolment.consent_id = consent.id
    audit.record(
        "face.consent_given",
        actor=("donor", donor.id),
        target=("donor", donor.id),
        details={"version": version},
    )
    return consent


def _withdraw(consents: Iterable[FaceConsent], reason: str) -> None:
    for consent in consents:
        if consent.withdrawn_at is None:
            consent.withdrawn_at = clock.now()
            consent.withdrawal_reason = reason


# ---------------------------------------------------------------- enrolment


def enrolment_of(donor: Donor) -> FaceEnrolment | None:
    return db.session.scalar(select(FaceEnrolment).where(FaceEnrolment.donor_id == donor.id))


def enrol_face(donor: Donor, photo: bytes, *, keep_photo: bool = False) -> FaceEnrolment:
    """Keep the encoding of the one whole, large-enough face in `photo`; the photo only on request.

    Enrolling again replaces the earlier face.
    """
    consent = active_consent(donor)
    if consent is None:
        raise ApiError("face_consent_required", 403)
    if consent.version != face_policy(donor.region).consent_version:
        raise ApiError("face_consent_outdated", 409)
    config = current_app.config
    if len(photo) > config["FACE_PHOTO_MAX_BYTES"]:
        raise ApiError("face_image_too_large", 413)
    pixels = engine.decode(
        photo, max_side=config["FACE_ENROL_MAX_SIDE"], max_pixels=config["FACE_IMAGE_MAX_PIXELS"]
    )
    box = _the_one_face(pixels)
    encoding = engine.encode(pixels, box)

    enrolment = enrolment_of(donor)
    replaced = enrolment is not None
    if enrolment is None:
        enrolment = FaceEnrolment(donor_id=donor.id)
        db.session.add(enrolment)
    enrolment.consent_id = consent.id
    enrolment.encoding = engine.pack(encoding)
    enrolment.model = engine.MODEL
    enrolment.face_pixels = box.size
    enrolment.enrolled_at = clock.now()
    enrolment.photo_jpeg = (
        base64.b64encode(engine.jpeg(pixels, config["FACE_KEPT_PHOTO_MAX_SIDE"])).decode("ascii")
        if keep_photo
        else None
    )
    db.session.flush()
    audit.record(
        "face.enrolled",
        actor=("donor", donor.id),
        target=("donor", donor.id),
        details={"replaced": replaced, "photo_kept": keep_photo, "face_pixels": box.size},
    )
    return enrolment


def _the_one_face(pixels: np.ndarray) -> engine.FaceBox:
    faces = engine.find_faces(pixels, upsample=1)
    if not faces:
        raise ApiError("face_not_found", 422)
    if len(faces) > 1:
        raise ApiError("face_several", 422)
    problem = _problem_with(faces[0], pixels)
    if problem:
        raise ApiError(problem, 422)
    return faces[0]


def _problem_with(box: engine.FaceBox, pixels: np.ndarray) -> str | None:
    height, width = pixels.shape[:2]
    if box.cut_off(height, width):
        return "face_partial"
    if box.size < current_app.config["FACE_MIN_FACE_PIXELS"]:
        return "face_too_small"
    return None


def kept_photo(donor: Donor) -> bytes:
    """The photo the donor asked us to keep, for their own eyes."""
    enrolment = enrolment_of(donor)
    if enrolment is None or enrolment.photo_jpeg is None:
        raise ApiError("face_photo_not_kept", 404)
    return base64.b64decode(enrolment.photo_jpeg)


def erase_face(donor: Donor, *, actor: tuple[str, int | None], reason: str) -> bool:
    """Withdraw consent and delete the encoding and photo; True if a face was enrolled.

    Consent records stay as proof of what was agreed; an erased account loses the address and
    device they were given from.
    """
    enrolment = enrolment_of(donor)
    if enrolment is not None:
        db.session.delete(enrolment)
    consents = db.session.scalars(select(FaceConsent).where(FaceConsent.donor_id == donor.id)).all()
    consenting = any(consent.withdrawn_at is None for consent in consents)
    _withdraw(consents, reason)
    if reason == "donor_erased":
        for consent in consents:
            consent.client_ip = None
            consent.device = None
    if enrolment is not None or consenting:
        audit.record(
            "face.erased",
            actor=actor,
            target=("donor", donor.id),
            details={"reason": reason, "had_enrolment": enrolment is not None},
        )
    db.session.flush()
    return enrolment is not None


def face_status(donor: Donor) -> dict:
    """What the donor's app shows: enrolled or not, the consent given, and the current text."""
    policy = face_policy(donor.region)
    consent = active_consent(donor)
    enrolment = enrolment_of(donor)
    return {
        "enrolled": enrolment is not None,
        "enrolled_at": enrolment.enrolled_at if enrolment else None,
        "photo_kept": bool(enrolment and enrolment.photo_jpeg),
        "consent": (
            {
                "version": consent.version,
                "given_at": consent.given_at,
                "current": consent.version == policy.consent_version,
            }
            if consent
            else None
        ),
        "consent_text": {"version": policy.consent_version, "text": policy.consent_text_zh},
    }


# ---------------------------------------------------------------- a live burst of frames


@dataclass(frozen=True)
class Liveness:
    """What the burst showed: `reason` is blink, or why it does not count as a live face."""

    passed: bool
    reason: str  # blink | static_burst | not_continuous | faces_differ | no_blink
    eye_open: float  # the burst's open-eye level (median eye aspect ratio)
    eye_lowest: float


@dataclass(frozen=True)
class Burst:
    encodings: list[np.ndarray]
    liveness: Liveness
    frames: int
    frames_used: int


def blinked(openness: Sequence[float], closed_fraction: float, reopen_fraction: float) -> bool:
    """Open, then shut, then open again: a frame well below the burst's usual eye opening, with
    frames at the usual opening both before and after it."""
    level = statistics.median(openness)
    shut = [value <= level * closed_fraction for value in openness]
    opened = [value >= level * reopen_fraction for value in openness]
    return any(shut[i] and any(opened[:i]) and any(opened[i + 1 :]) for i in range(len(openness)))


def analyse_burst(frames: Sequence[bytes]) -> Burst:
    """Find the donor's face in each frame, judge liveness, and encode a few open-eyed frames
    (and the most shut-eyed one, to see that the blink belongs to the same face).

    A frame with no usable face is skipped; too few usable frames, or several faces in any
    frame, is a capture to retake (an error), not a verdict.
    """
    config = current_app.config
    if len(frames) < config["FACE_BURST_MIN_FRAMES"]:
        raise ApiError("face_burst_too_short", 422)
    if len(frames) > config["FACE_BURST_MAX_FRAMES"]:
        raise ApiError("face_burst_too_long", 422)
    if sum(len(frame) for frame in frames) > config["FACE_BURST_MAX_BYTES"]:
        raise ApiError("face_image_too_large", 413)

    usable: list[tuple[np.ndarray, engine.FaceBox]] = []
    problems: dict[str, list[str]] = {}
    for index, frame in enumerate(frames):
        try:
            pixels = engine.decode(
                frame,
                max_side=config["FACE_FRAME_MAX_SIDE"],
                max_pixels=config["FACE_IMAGE_MAX_PIXELS"],
            )
        except ApiError as error:
            where = {"frames": {str(index): [error.code]}}
            raise ApiError(error.code, error.status, errors=where) from None
        faces = engine.find_faces(pixels, upsample=0)
        if not faces:  # too small for the quick pass, or no face at all: look closer to say which
            faces = engine.find_faces(pixels, upsample=1)
        if len(faces) > 1:
            raise ApiError("face_several", 422, errors={"frames": {str(index): ["face_several"]}})
        problem = _problem_with(faces[0], pixels) if faces else "face_not_found"
        if problem:
            problems[str(index)] = [problem]
            continue
        usable.append((pixels, faces[0]))
    if len(usable) < config["FACE_BURST_MIN_FRAMES"]:
        codes = [codes[0] for codes in problems.values()]
        code = max(sorted(set(codes)), key=codes.count) if codes else "face_burst_too_short"
        raise ApiError(code, 422, errors={"frames": problems})

    openness = [engine.eye_openness(pixels, box) for pixels, box in usable]
    level = statistics.median(openness)
    reopened = level * config["FACE_BLINK_REOPEN_FRACTION"]
    open_frames = [i for i, value in enumerate(openness) if value >= reopened]
    wanted = min(config["FACE_BURST_ENCODED_FRAMES"], len(open_frames))
    chosen = sorted({open_frames[round(i)] for i in np.linspace(0, len(open_frames) - 1, wanted)})
    encodings = [engine.encode(*usable[i]) for i in chosen]
    # The frame with the eyes most shut makes any blink: it must show the same face too.
    shut = int(np.argmin(openness))
    same_face = encodings if shut in chosen else [*encodings, engine.encode(*usable[shut])]

    verdict = _liveness_verdict(usable, same_face, openness)
    liveness = Liveness(
        passed=verdict == "blink",
        reason=verdict,
        eye_open=round(level, 4),
        eye_lowest=round(min(openness), 4),
    )
    return Burst(encodings, liveness, frames=len(frames), frames_used=len(usable))


def _liveness_verdict(
    usable: list[tuple[np.ndarray, engine.FaceBox]],
    encodings: list[np.ndarray],
    openness: list[float],
) -> str:
    config = current_app.config
    first = usable[0][0]
    if all(np.array_equal(first, pixels) for pixels, _ in usable[1:]):
        return "static_burst"
    for (before, box_before), (after, box_after) in zip(usable, usable[1:], strict=False):
        if (
            before.shape != after.shape
            or box_before.overlap(box_after) < config["FACE_BURST_MIN_OVERLAP"]
        ):
            return "not_continuous"
    for i, one in enumerate(encodings):
        for other in encodings[i + 1 :]:
            if np.linalg.norm(one - other) > config["FACE_BURST_SAME_FACE_THRESHOLD"]:
                return "faces_differ"
    if blinked(
        openness, config["FACE_BLINK_CLOSED_FRACTION"], config["FACE_BLINK_REOPEN_FRACTION"]
    ):
        return "blink"
    return "no_blink"


# ---------------------------------------------------------------- 1:1 verification


@dataclass(frozen=True)
class FaceCheck:
    """One check at check-in: the face matches, and separately whether it was a live face."""

    match: bool
    distance: float
    threshold: float
    liveness: Liveness
    frames: int
    frames_used: int
    checked_at: datetime

    @property
    def verified(self) -> bool:
        """Both: staff may accept the face in place of the ID card only then."""
        return self.match and self.liveness.passed


def verify_face(
    donor: Donor,
    frames: Sequence[bytes],
    *,
    actor: Caller,
    site_id: int | None = None,
    visit_id: int | None = None,
) -> FaceCheck:
    """Compare a live burst with the donor's enrolled face (1:1)."""
    enrolment = _usable_enrolment(donor)
    burst = analyse_burst(frames)
    known = engine.unpack(enrolment.encoding)
    distance = float(np.median([np.linalg.norm(known - probe) for probe in burst.encodings]))
    threshold = current_app.config["FACE_MATCH_THRESHOLD"]
    check = FaceCheck(
        match=distance <= threshold,
        distance=round(distance, 4),
        threshold=threshold,
        liveness=burst.liveness,
        frames=burst.frames,
        frames_used=burst.frames_used,
        checked_at=clock.now(),
    )
    audit.record(
        "face.verified",
        actor=(actor.principal_type, actor.principal_id),
        target=("donor", donor.id),
        details={
            "match": check.match,
            "distance": check.distance,
            "threshold": threshold,
            "liveness": check.liveness.reason,
            "frames": check.frames,
            "site_id": site_id,
            "visit_id": visit_id,
        },
    )
    return check


def _usable_enrolment(donor: Donor) -> FaceEnrolment:
    enrolment = enrolment_of(donor) if donor.status == DONOR_ACTIVE else None
    if enrolment is None or active_consent(donor) is None:
        raise ApiError("face_not_enrolled", 409)
    return enrolment


# ---------------------------------------------------------------- 1:N identification


@dataclass(frozen=True)
class Search:
    """The outcome of a 1:N search: at most one donor, never a list.

    `reason`: identified | no_candidates | no_match | ambiguous.
    """

    donor: Donor | None
    reason: str
    distance: float | None  # the best candidate's
    margin: float | None  # how much farther the second best is
    candidates: int  # enrolled, consenting candidates compared


@dataclass(frozen=True)
class Identification:
    """What staff see after 1:N: a candidate to confirm by name and birth year, or none.

    `reason` is the search's, or liveness_failed when the burst was not searched.
    """

    donor: Donor | None
    reason: str
    distance: float | None
    margin: float | None
    candidates: int
    liveness: Liveness


def identification_candidates(
    booked_donor_ids: Iterable[int], *, region: str | None, city: str | None
) -> list[int]:
    """Whom a site may search: today's bookings, plus donors enrolled in its city where the
    region's policy allows it and the donor agreed to the text that says so."""
    ids = set(booked_donor_ids)
    policy = face_policy(region)
    if policy.identify_enrolled_in_city and city:
        ids.update(
            db.session.scalars(
                select(FaceEnrolment.donor_id)
                .join(Donor, Donor.id == FaceEnrolment.donor_id)
                .join(FaceConsent, FaceConsent.id == FaceEnrolment.consent_id)
                .where(
                    Donor.city == city,
                    Donor.status == DONOR_ACTIVE,
                    FaceConsent.withdrawn_at.is_(None),
                    FaceConsent.version == policy.consent_version,
                )
            )
        )
    return sorted(ids)


def identify_face(
    candidate_donor_ids: Iterable[int],
    frames: Sequence[bytes],
    *,
    actor: Caller,
    site_id: int | None = None,
) -> Identification:
    """Find which of the candidates the live face belongs to, if exactly one clearly does.

    A burst that fails liveness is not searched at all: a photo must not reveal who it shows.
    """
    burst = analyse_burst(frames)
    ids = sorted(set(candidate_donor_ids))
    found = Search(None, "liveness_failed", None, None, 0)
    if burst.liveness.passed:
        found = search_enrolled(ids, burst.encodings)
    audit.record(
        "face.identified",
        actor=(actor.principal_type, actor.principal_id),
        target=("donor", found.donor.id) if found.donor else None,
        details={
            "result": found.reason,
            "distance": found.distance,
            "margin": found.margin,
            "candidates": found.candidates,
            "liveness": burst.liveness.reason,
            "site_id": site_id,
        },
    )
    return Identification(
        found.donor, found.reason, found.distance, found.margin, found.candidates, burst.liveness
    )


def search_enrolled(donor_ids: Sequence[int], probes: Sequence[np.ndarray]) -> Search:
    """Compare the probe (the mean of a burst's encodings) with each candidate's enrolled face.

    A candidate only when the best distance is under FACE_IDENTIFY_THRESHOLD and the second
    best is at least FACE_IDENTIFY_MARGIN farther: look-alikes, twins and a face enrolled twice
    give no answer rather than a guess.
    """
    config = current_app.config
    rows = enrolled_encodings(donor_ids)
    if not rows:
        return Search(None, "no_candidates", None, None, 0)
    known = np.stack([encoding for _, encoding in rows])
    found = engine.distances(known, np.mean(probes, axis=0))
    index, reason, best, margin = closest_clearly(
        found, config["FACE_IDENTIFY_THRESHOLD"], config["FACE_IDENTIFY_MARGIN"]
    )
    donor = db.session.get(Donor, rows[index][0]) if index is not None else None
    return Search(donor, reason, best, margin, len(rows))


def closest_clearly(
    distances: np.ndarray, threshold: float, margin: float
) -> tuple[int | None, str, float, float | None]:
    """(index of the one candidate or None, reason, best distance, its lead on the second)."""
    order = np.argsort(distances)
    best = float(distances[order[0]])
    lead = float(distances[order[1]]) - best if len(order) > 1 else None
    reason = "identified"
    if best > threshold:
        reason = "no_match"
    elif lead is not None and lead < margin:
        reason = "ambiguous"
    index = int(order[0]) if reason == "identified" else None
    return index, reason, round(best, 4), round(lead, 4) if lead is not None else None


def enrolled_encodings(donor_ids: Sequence[int]) -> list[tuple[int, np.ndarray]]:
    """The encodings of those donors who are active, enrolled and still consenting."""
    if not donor_ids:
        return []
    rows = db.session.execute(
        select(FaceEnrolment.donor_id, FaceEnrolment.encoding)
        .join(Donor, Donor.id == FaceEnrolment.donor_id)
        .join(FaceConsent, FaceConsent.id == FaceEnrolment.consent_id)
        .where(
            FaceEnrolment.donor_id.in_(donor_ids),
            Donor.status == DONOR_ACTIVE,
            FaceConsent.withdrawn_at.is_(None),
        )
        .order_by(FaceEnrolment.donor_id)
    )
    return [(donor_id, engine.unpack(encoding)) for donor_id, encoding in rows]

"""Staff face checks as services: 1:1 verification at check-in, liveness of a burst, 1:N search.

The staff routes sit beside check-in (appointments) and call these services. Bursts are built
from real photographs; none shows shut eyes, so none holds a real blink (see
tests/data/faces/README.md): these tests show what is refused, and the blink rule itself is
tested on eye aspect ratios in test_face_engine.py.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from sqlalchemy import select

from core.auth import STAFF, Caller
from core.errors import ApiError
from core.extensions import db
from core.models import AuditEntry
from donors import face_engine, faces
from donors.models import Donor
from donors.schemas import FaceCheckSchema, IdentificationSchema
from tests.factories import make_site, make_staff, register_donor
from tests.factories.faces import (
    as_jpeg,
    consent,
    enrol,
    face_centred,
    photo,
    still_through_a_camera,
    with_small_face,
    without_face,
)


@pytest.fixture
def nurse():
    user = make_staff([make_site()])
    return Caller("staff", user.id, STAFF, "session", {})


def enrolled(client, sms, image: str, **registration) -> Donor:
    data = register_donor(client, sms, **registration)
    token = data["tokens"]["access_token"]
    assert consent(client, token).status_code == 201
    assert enrol(client, token, image).status_code == 201
    return db.session.get(Donor, data["donor"]["id"])


def consenting_with(client, sms, encoding: np.ndarray, **registration) -> Donor:
    """A donor who consented through the API, with a face encoded from a test photo (the
    session cache saves re-detecting it)."""
    from donors.models import FaceEnrolment

    data = register_donor(client, sms, **registration)
    assert consent(client, data["tokens"]["access_token"]).status_code == 201
    donor = db.session.get(Donor, data["donor"]["id"])
    db.session.add(
        FaceEnrolment(
            donor_id=donor.id,
            consent_id=faces.active_consent(donor).id,
            encoding=face_engine.pack(encoding),
            model=face_engine.MODEL,
            face_pixels=200,
        )
    )
    db.session.commit()
    return donor


def audit_of(action: str) -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def refused(frames, donor, nurse) -> ApiError:
    with pytest.raises(ApiError) as caught:
        faces.verify_face(donor, frames, actor=nurse)
    return caught.value


# ---------------------------------------------------------------- 1:1 verification


def test_a_still_photo_held_to_the_camera_matches_but_is_not_live(client, sms, nurse):
    donor = enrolled(client, sms, "obama_1.jpg")
    check = faces.verify_face(donor, still_through_a_camera("obama_2.jpg"), actor=nurse)
    assert check.match is True and check.distance <= check.threshold
    assert check.liveness.passed is False and check.liveness.reason == "no_blink"
    assert check.verified is False


def test_another_person_does_not_match(client, sms, nurse):
    donor = enrolled(client, sms, "obama_1.jpg")
    check = faces.verify_face(donor, still_through_a_camera("biden_2.jpg"), actor=nurse)
    assert check.match is False and check.distance > check.threshold
    assert check.verified is False


def test_one_still_sent_as_every_frame_is_a_static_burst(client, sms, nurse):
    donor = enrolled(client, sms, "obama_1.jpg")
    check = faces.verify_face(donor, [photo("obama_2.jpg")] * 6, actor=nurse)
    assert check.match is True
    assert check.liveness.reason == "static_burst" and not check.verified


def test_different_photos_of_the_donor_are_not_one_burst(client, sms, nurse):
    donor = enrolled(client, sms, "obama_1.jpg")
    frames = [photo(name) for name in ("obama_1.jpg", "obama_2.jpg", "obama_5.jpg")] * 2
    check = faces.verify_face(donor, frames, actor=nurse)
    assert check.liveness.reason == "not_continuous" and not check.verified


def test_a_face_swapped_in_mid_burst_is_caught(client, sms, nurse):
    donor = enrolled(client, sms, "obama_1.jpg")
    rng = np.random.default_rng(2)

    def frames_of(name: str) -> list[bytes]:
        # The face at the same place in the frame each time: only who it is changes.
        pixels = np.asarray(face_centred(name)).astype(np.int16)
        return [as_jpeg(_noisy(pixels, rng)) for _ in range(3)]

    check = faces.verify_face(
        donor, frames_of("obama_2.jpg") + frames_of("biden_2.jpg"), actor=nurse
    )
    assert check.liveness.reason == "faces_differ" and not check.verified


def _noisy(pixels: np.ndarray, rng: np.random.Generator):
    from PIL import Image

    noisy = pixels + rng.normal(0, 3, pixels.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def test_each_check_is_audited_without_its_images(client, sms, nurse):
    donor = enrolled(client, sms, "obama_1.jpg")
    check = faces.verify_face(
        donor, still_through_a_camera("obama_2.jpg"), actor=nurse, site_id=7, visit_id=42
    )
    (entry,) = audit_of("face.verified")
    assert (entry.actor_type, entry.actor_id) == ("staff", nurse.principal_id)
    assert (entry.target_type, entry.target_id) == ("donor", str(donor.id))
    assert entry.at is not None
    assert entry.details["match"] is True and entry.details["distance"] == check.distance
    assert entry.details["liveness"] == "no_blink"
    assert (entry.details["site_id"], entry.details["visit_id"]) == (7, 42)
    assert len(json.dumps(entry.details)) < 300  # references and figures, never pixels


def test_a_donor_without_an_enrolled_face_cannot_be_checked(client, sms, nurse):
    data = register_donor(client, sms)
    donor = db.session.get(Donor, data["donor"]["id"])
    error = refused(still_through_a_camera("obama_2.jpg"), donor, nurse)
    assert (error.code, error.status) == ("face_not_enrolled", 409)


def test_a_withdrawn_face_cannot_be_checked(client, sms, nurse):
    donor = enrolled(client, sms, "obama_1.jpg")
    faces.erase_face(donor, actor=("donor", donor.id), reason="donor_withdrew")
    db.session.commit()
    assert refused(still_through_a_camera("obama_2.jpg"), donor, nurse).code == "face_not_enrolled"


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        (lambda: still_through_a_camera("obama_2.jpg", frames=3), "face_burst_too_short"),
        (lambda: still_through_a_camera("obama_2.jpg", frames=21), "face_burst_too_long"),
        (lambda: [without_face()] * 6, "face_not_found"),
        (lambda: [with_small_face()] * 6, "face_too_small"),
        (lambda: [photo("partial_obama.jpg")] * 6, "face_partial"),
    ],
    ids=["three-frames", "21-frames", "no-face", "small-face", "half-a-face"],
)
def test_a_burst_that_cannot_be_judged_is_a_capture_to_retake(client, sms, nurse, frames, code):
    donor = enrolled(client, sms, "obama_1.jpg")
    error = refused(frames(), donor, nurse)
    assert (error.code, error.status) == (code, 422)
    assert audit_of("face.verified") == []


def test_frames_without_a_face_are_named(client, sms, nurse):
    donor = enrolled(client, sms, "obama_1.jpg")
    frames = still_through_a_camera("obama_2.jpg", frames=4) + [without_face()] * 2
    error = refused(frames, donor, nurse)
    assert error.code == "face_not_found"
    assert error.errors == {"frames": {"4": ["face_not_found"], "5": ["face_not_found"]}}


def test_a_second_person_in_any_frame_stops_the_check(client, sms, nurse):
    donor = enrolled(client, sms, "obama_1.jpg")
    frames = still_through_a_camera("obama_2.jpg", frames=5) + [photo("multi_two_people.jpg")]
    error = refused(frames, donor, nurse)
    assert error.code == "face_several" and error.errors == {"frames": {"5": ["face_several"]}}


def test_an_unreadable_frame_is_named(client, sms, nurse):
    donor = enrolled(client, sms, "obama_1.jpg")
    frames = still_through_a_camera("obama_2.jpg", frames=6)
    frames[2] = frames[2][:200]
    error = refused(frames, donor, nurse)
    assert error.code == "face_image_unreadable"
    assert error.errors == {"frames": {"2": ["face_image_unreadable"]}}


def test_a_burst_over_the_size_limit_is_refused(client, sms, nurse, app, monkeypatch):
    donor = enrolled(client, sms, "obama_1.jpg")
    monkeypatch.setitem(app.config, "FACE_BURST_MAX_BYTES", 100_000)
    error = refused(still_through_a_camera("obama_2.jpg"), donor, nurse)
    assert (error.code, error.status) == ("face_image_too_large", 413)


def test_a_check_shows_staff_the_verdicts_in_their_language(client, sms, nurse):
    donor = enrolled(client, sms, "obama_1.jpg")
    check = faces.verify_face(donor, still_through_a_camera("obama_2.jpg"), actor=nurse)
    shown = FaceCheckSchema().dump(check)
    assert shown["verified"] is False and shown["match"] is True
    assert shown["liveness"]["reason"] == "no_blink"
    assert "眨眼" in shown["liveness"]["message"]
    assert shown["checked_at"].endswith("+08:00")


# ---------------------------------------------------------------- 1:N identification


@pytest.fixture
def gallery(client, sms, encodings):
    """Six donors, one per person, enrolled with one photo each."""
    names = [
        "obama_1.jpg",
        "biden_1.jpg",
        "harington_1.jpg",
        "leslie_1.jpg",
        "lacamoire_1.png",
        "miranda_1.jpg",
    ]
    return {name.split("_")[0]: consenting_with(client, sms, encodings[name]) for name in names}


def ids(donors) -> list[int]:
    return [donor.id for donor in donors]


def test_a_live_face_is_searched_only_after_liveness(client, sms, nurse, gallery):
    result = faces.identify_face(
        ids(gallery.values()), still_through_a_camera("obama_2.jpg"), actor=nurse, site_id=3
    )
    assert result.donor is None and result.reason == "liveness_failed"
    (entry,) = audit_of("face.identified")
    assert entry.target_id is None
    assert entry.details["result"] == "liveness_failed" and entry.details["distance"] is None


def test_the_one_clearly_closest_donor_is_the_candidate(app, gallery, encodings):
    found = faces.search_enrolled(ids(gallery.values()), [encodings["obama_2.jpg"]])
    assert found.reason == "identified" and found.donor.id == gallery["obama"].id
    assert found.distance <= app.config["FACE_IDENTIFY_THRESHOLD"]
    assert found.margin >= app.config["FACE_IDENTIFY_MARGIN"]
    assert found.candidates == 6


def test_a_face_nobody_enrolled_finds_no_candidate(gallery, encodings):
    others = [donor for name, donor in gallery.items() if name != "biden"]
    found = faces.search_enrolled(ids(others), [encodings["biden_2.jpg"]])
    assert found.donor is None and found.reason == "no_match"


def test_donors_outside_the_candidates_are_never_found(gallery, encodings):
    others = [donor for name, donor in gallery.items() if name != "obama"]
    found = faces.search_enrolled(ids(others), [encodings["obama_2.jpg"]])
    assert found.donor is None and found.candidates == 5


def test_two_donors_with_the_same_face_give_no_answer(client, sms, gallery, analysed):
    # obama_4.jpg is obama_1.jpg letterboxed: two accounts, one face (as with twins).
    pixels = face_engine.decode(photo("obama_4.jpg"), max_side=1024, max_pixels=10**8)
    (box,) = face_engine.find_faces(pixels, upsample=1)
    twin = consenting_with(client, sms, face_engine.encode(pixels, box))
    found = faces.search_enrolled(
        [*ids(gallery.values()), twin.id], [analysed["obama_2.jpg"].encoding]
    )
    assert found.donor is None and found.reason == "ambiguous"
    assert found.margin < 0.1


def test_withdrawn_and_erased_faces_are_not_searched(client, sms, gallery, encodings):
    obama, biden = gallery["obama"], gallery["biden"]
    faces.erase_face(obama, actor=("donor", obama.id), reason="donor_withdrew")
    biden.status = "erased"
    db.session.commit()
    candidates = ids(gallery.values())
    assert {donor_id for donor_id, _ in faces.enrolled_encodings(candidates)} == set(candidates) - {
        obama.id,
        biden.id,
    }
    found = faces.search_enrolled(candidates, [encodings["obama_2.jpg"]])
    assert found.donor is None


def test_no_enrolled_candidate_means_no_search(gallery, encodings):
    assert faces.search_enrolled([], [encodings["obama_2.jpg"]]).reason == "no_candidates"


def test_staff_see_a_masked_name_and_birth_year_only(client, sms, encodings):
    donor = consenting_with(
        client, sms, encodings["obama_1.jpg"], name="王小明", id_number=_id_born("19850612")
    )
    found = faces.search_enrolled([donor.id], [encodings["obama_2.jpg"]])
    liveness = faces.Liveness(False, "no_blink", 0.3, 0.29)
    shown = IdentificationSchema().dump(
        faces.Identification(found.donor, found.reason, found.distance, found.margin, 1, liveness)
    )
    assert shown["candidate"] == {"id": donor.id, "name": "王**", "birth_year": 1985}
    assert "id_number" not in json.dumps(shown) and "mobile" not in json.dumps(shown)


def _id_born(birth: str) -> str:
    from tests.factories import resident_id

    return resident_id(birth=birth)


def test_by_default_only_today_s_bookings_are_searched(client, sms, gallery):
    booked = [gallery["obama"].id]
    assert faces.identification_candidates(booked, region="zhejiang", city="杭州市") == booked


def test_a_region_may_open_the_search_to_donors_enrolled_in_its_city(
    app, client, sms, encodings, monkeypatch
):
    local = consenting_with(client, sms, encodings["obama_1.jpg"], city="杭州市")
    elsewhere = consenting_with(client, sms, encodings["biden_1.jpg"], city="宁波市")
    withdrawn = consenting_with(client, sms, encodings["leslie_1.jpg"], city="杭州市")
    faces.erase_face(withdrawn, actor=("donor", withdrawn.id), reason="donor_withdrew")
    db.session.commit()
    policy = app.extensions["policies"]["zhejiang"]
    opened = dataclasses.replace(policy.section("face_check"), identify_enrolled_in_city=True)
    monkeypatch.setattr(policy, "sections", {**policy.sections, "face_check": opened})
    found = faces.identification_candidates([99], region="zhejiang", city="杭州市")
    assert found == sorted([99, local.id])
    assert elsewhere.id not in found and withdrawn.id not in found


def test_the_face_check_policy_section_is_read_from_the_national_file(app):
    section = faces.face_policy("shandong")
    assert section.consent_version and "撤回" in section.consent_text_zh
    assert section.identify_enrolled_in_city is False
    assert "not a regulation" in section.source


def test_a_face_check_section_without_its_consent_version_is_refused(tmp_path):
    import shutil

    from core.config import PROJECT_ROOT
    from core.policy import PolicyError
    from tests.factories.policies import load_policies

    for path in (PROJECT_ROOT / "policies").glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    national = tmp_path / "national.toml"
    national.write_text(
        national.read_text(encoding="utf-8").replace('consent_version = "', 'version = "'),
        encoding="utf-8",
    )
    with pytest.raises(PolicyError, match="face_check.consent_version"):
        load_policies(tmp_path)


def test_the_image_bytes_of_a_kept_photo_never_reach_the_audit_log(client, sms):
    data = register_donor(client, sms)
    token = data["tokens"]["access_token"]
    consent(client, token)
    enrol(client, token, "obama_1.jpg", keep_photo=True)
    for entry in db.session.scalars(select(AuditEntry)):
        assert len(json.dumps(entry.details or {})) < 300

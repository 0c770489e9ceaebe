"""Routes: public slots and search; donors book, wait, answer the form and show a check-in code;
staff check donors in and see the day; administrators set the opening schedules."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, request

from appointments import (
    bookings,
    checkin,
    ics,
    questionnaire,
    schedule,
    schemas,
    staff_views,
    waitlist,
)
from core import clock
from core.auth import ADMIN, DONOR, STAFF, caller, roles_required
from core.docs import answers
from core.errors import ApiError
from core.extensions import db
from core.http import Blueprint
from core.idempotency import idempotent
from core.limits import limit_per_caller
from core.pagination import paginate
from core.qr import NO_STORE, PNG, SVG, per_donor_limit, qr_response
from core.requests import allows_images, current_donor
from donors.schemas import (
    FaceBurstSchema,
    FaceCheckSchema,
    FaceIdentifySchema,
    IdentificationSchema,
)
from sites.services import get_site

bp = Blueprint(
    "appointments", __name__, description="Slots, bookings, waiting lists, health form, check-in"
)


# ---------------------------------------------------------------- public


@bp.get("/sites/search")
@bp.arguments(schemas.SiteSearchQuerySchema, location="query")
@bp.response(200, schemas.SiteSearchPageSchema)
def search_sites(query: dict[str, Any]):
    """Sites with free places between two days: by city, near a point (lat, lng), or both."""
    point = (query["lat"], query["lng"]) if "lat" in query else None
    found = schedule.search_sites(
        city=query.get("city"),
        point=point,
        radius_km=query["radius_km"],
        first=query["from_day"],
        last=query["to_day"],
        kind=query.get("kind"),
    )
    return paginate(found, query["page"], query["per_page"])


@bp.get("/sites/<int:site_id>/slots")
@bp.arguments(schemas.SlotQuerySchema, location="query")
@bp.response(200, schemas.SlotPageSchema)
def list_slots(query: dict[str, Any], site_id: int):
    """A site's bookable slots with their free places (0: full, join the waiting list)."""
    select = schedule.slots_query(
        get_site(site_id),
        query["from_day"],
        query["to_day"],
        query.get("kind"),
        query["free_only"],
    )
    return paginate(select, query["page"], query["per_page"])


@bp.get("/sites/<int:site_id>/days")
@bp.arguments(schemas.DayQuerySchema, location="query")
@bp.response(200, schemas.DayPageSchema)
def list_days(query: dict[str, Any], site_id: int):
    """A site's days: open or closed (holiday, exception), hours and free places per kind."""
    days = schedule.days_of(get_site(site_id), query["from_day"], query["to_day"])
    return paginate(days, query["page"], query["per_page"])


# ---------------------------------------------------------------- bookings (donor)


@bp.post("/me/appointments")
@roles_required(DONOR)
@idempotent(required=False)
@bp.arguments(schemas.BookingCreateSchema)
@bp.response(201, schemas.BookingSchema)
@bp.doc(
    parameters=[
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "description": "A retry with the same key gets the first answer again.",
            "schema": {"type": "string", "minLength": 8, "maxLength": 128},
        }
    ]
)
@answers(404)
def book(body: dict[str, Any]):
    """Book a slot (its kind): eligibility on that day is checked first; one active booking."""
    return bookings.book(current_donor(), body["slot_id"])


@bp.get("/me/appointments")
@roles_required(DONOR)
@bp.arguments(schemas.BookingListQuerySchema, location="query")
@bp.response(200, schemas.BookingPageSchema)
def my_bookings(query: dict[str, Any]):
    """The donor's bookings, newest first."""
    select = bookings.donor_bookings_query(current_donor(), query.get("status"))
    return paginate(select, query["page"], query["per_page"])


@bp.get("/me/appointments/<int:booking_id>")
@roles_required(DONOR)
@bp.response(200, schemas.BookingSchema)
def my_booking(booking_id: int):
    """One of the donor's bookings."""
    return bookings.own_booking(current_donor(), booking_id)


@bp.delete("/me/appointments/<int:booking_id>")
@roles_required(DONOR)
@bp.response(200, schemas.BookingSchema)
def cancel(booking_id: int):
    """Cancel until the cut-off; the place is offered to the day's waiting list."""
    booking = bookings.cancel(current_donor(), booking_id)
    db.session.commit()
    return booking


@bp.post("/me/appointments/<int:booking_id>/reschedule")
@roles_required(DONOR)
@bp.arguments(schemas.BookingCreateSchema)
@bp.response(201, schemas.BookingSchema)
def reschedule(body: dict[str, Any], booking_id: int):
    """Move a booking to another slot until the cut-off; answers the new booking."""
    booking = bookings.reschedule(current_donor(), booking_id, body["slot_id"])
    db.session.commit()
    return booking


@bp.get("/me/appointments/<int:booking_id>/calendar.ics")
@roles_required(DONOR)
@bp.response(200, content_type="text/calendar")
def booking_calendar(booking_id: int):
    """The booking as an iCalendar file, with the site's address."""
    booking = bookings.own_booking(current_donor(), booking_id)
    return Response(
        ics.booking_calendar(booking),
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="booking-{booking.id}.ics"'},
    )


# ---------------------------------------------------------------- waiting lists (donor)


@bp.post("/me/waitlist")
@roles_required(DONOR)
@bp.arguments(schemas.WaitlistCreateSchema)
@bp.response(201, schemas.WaitlistEntrySchema)
@answers(404)
def join_waitlist(body: dict[str, Any]):
    """Wait for a place at a full site and day; a freed place is held for you for a while."""
    entry = waitlist.join_waitlist(current_donor(), body["site_id"], body["day"], body["kind"])
    db.session.commit()
    return entry


@bp.get("/me/waitlist")
@roles_required(DONOR)
@bp.arguments(schemas.PageQuerySchema, location="query")
@bp.response(200, schemas.WaitlistPageSchema)
def my_waitlist(query: dict[str, Any]):
    """The donor's waiting-list entries, with their place in line and any offer."""
    return paginate(
        waitlist.donor_waitlist_query(current_donor()), query["page"], query["per_page"]
    )


@bp.post("/me/waitlist/<int:entry_id>/accept")
@roles_required(DONOR)
@bp.response(201, schemas.BookingSchema)
def accept_offer(entry_id: int):
    """Take the place held for you; an existing booking moves to it."""
    booking = bookings.accept_offer(current_donor(), entry_id)
    db.session.commit()
    return booking


@bp.delete("/me/waitlist/<int:entry_id>")
@roles_required(DONOR)
@bp.response(200, schemas.WaitlistEntrySchema)
def leave_waitlist(entry_id: int):
    """Leave the list (declining any place held, which passes on at once)."""
    entry = waitlist.leave_waitlist(current_donor(), entry_id)
    db.session.commit()
    return entry


# ---------------------------------------------------------------- health form (donor)


@bp.get("/questionnaires/current")
@roles_required(DONOR)
@bp.response(200, schemas.QuestionnaireFormSchema)
@answers(409)
def current_form():
    """The health form in force, as this donor is asked it, with the consent to sign."""
    return questionnaire.form_for(current_donor())


@bp.get("/questionnaires")
@roles_required(DONOR, STAFF, ADMIN)
@bp.arguments(schemas.QuestionnaireEditionQuerySchema, location="query")
@bp.response(200, schemas.QuestionnaireEditionPageSchema)
def questionnaire_editions(query: dict[str, Any]):
    """Every edition of the health form, newest first: its questions with their answer codes, the
    deferral a yes leads to, who is asked and whether a date goes with the yes."""
    region = query.get("region") or (current_donor().region if caller().role == DONOR else None)
    editions = questionnaire.editions_of(region, query.get("on"))
    return paginate(editions, query["page"], query["per_page"])


@bp.post("/me/questionnaire")
@roles_required(DONOR)
@bp.arguments(schemas.QuestionnaireSubmitSchema)
@bp.response(201, schemas.QuestionnaireResponseSchema)
def sign_form(body: dict[str, Any]):
    """Answer the form and sign the consent; answers that defer give the date to come back."""
    donor = current_donor()
    response = questionnaire.sign(donor, body, request.remote_addr or "", _user_agent())
    db.session.commit()
    return questionnaire.own_signed_form(donor, response)


def _user_agent() -> str:
    """HTTP hands header bytes over as Latin-1; a UTF-8 User-Agent (a mini-program's Chinese
    name) is read back as the text the device sent."""
    raw = request.headers.get("User-Agent", "")
    try:
        return raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw


@bp.get("/me/questionnaire")
@roles_required(DONOR)
@bp.response(200, schemas.QuestionnaireResponseSchema)
@answers(404)
def my_form():
    """The donor's latest signed answers and what they mean."""
    donor = current_donor()
    response = questionnaire.latest_response(donor.id)
    if response is None:
        raise ApiError("questionnaire_not_found", 404)
    return questionnaire.own_signed_form(donor, response)


# ---------------------------------------------------------------- check-in code (donor)


@bp.get("/me/checkin-code")
@roles_required(DONOR)
@bp.response(200, schemas.CheckinCodeSchema)
@answers(409, 422)
def checkin_code():
    """The current signed check-in code (about a minute) for the app to draw as a QR code."""
    return checkin.issue_code(current_donor()), 200, NO_STORE


def _qr_code(image_format: str) -> Response:
    code = checkin.issue_code(current_donor())
    expires = clock.to_local(code.expires_at).isoformat()
    headers = {**NO_STORE, "Expires-At": expires}
    return qr_response(code.code, image_format, headers=headers, cached=True)


@bp.get("/me/checkin-code/qr.png")
@roles_required(DONOR)
@per_donor_limit
@bp.response(200, content_type="image/png")
@answers(409, 422)
def checkin_code_png():
    """The current check-in code as a PNG QR code (`Expires-At` header: fetch another before).

    Limited per donor, with the donor's other QR images (`QR_IMAGE_RATE_LIMIT`).
    """
    return _qr_code(PNG)


@bp.get("/me/checkin-code/qr.svg")
@roles_required(DONOR)
@per_donor_limit
@bp.response(200, content_type="image/svg+xml")
@answers(409, 422)
def checkin_code_svg():
    """The current check-in code as an SVG QR code (limited per donor, as the PNG)."""
    return _qr_code(SVG)


# ---------------------------------------------------------------- staff


@bp.post("/staff/checkins")
@roles_required(STAFF, ADMIN)
@bp.arguments(schemas.CheckinCreateSchema)
@bp.response(201, schemas.VisitSchema)
@bp.alt_response(200, schema=schemas.VisitSchema, description="already checked in here today")
@answers(404)
def check_in(body: dict[str, Any]):
    """Open the donor's visit at a site you serve, from a scanned code or a walk-in's ID number.

    201 with a new visit; 200 with the visit the donor already has there today.
    """
    id_number = body["id_number"].number if "id_number" in body else None
    visit, new = checkin.check_in(caller(), body["site_id"], body.get("code"), id_number)
    db.session.commit()
    return visit, 201 if new else 200


@bp.get("/staff/visits")
@roles_required(STAFF, ADMIN)
@bp.arguments(schemas.StaffVisitQuerySchema, location="query")
@bp.response(200, schemas.StaffVisitPageSchema)
@answers(404)
def site_visits(query: dict[str, Any]):
    """A day's visits at your sites (or one), with counts by kind and status."""
    site_ids = staff_views.staff_site_ids(caller(), query.get("site_id"))
    day = query.get("day") or clock.local_today()
    page = paginate(
        staff_views.site_visits_query(site_ids, day, query.get("status")),
        query["page"],
        query["per_page"],
    )
    return {**page, "day": day, "counts": staff_views.visit_counts(site_ids, day)}


@bp.get("/staff/visits/<int:visit_id>")
@roles_required(STAFF, ADMIN)
@bp.response(200, schemas.VisitSchema)
def site_visit(visit_id: int):
    """One visit at a site you serve, with the donor's answers (the access is logged)."""
    visit = checkin.visit_at_desk(caller(), visit_id)
    db.session.commit()
    return visit


@bp.post("/staff/visits/<int:visit_id>/close")
@roles_required(STAFF, ADMIN)
@bp.arguments(schemas.VisitCloseSchema)
@bp.response(200, schemas.VisitSchema)
def close_visit(body: dict[str, Any], visit_id: int):
    """End a visit without a donation (deferred at screening, left)."""
    visit = checkin.close_at_desk(caller(), visit_id, body["outcome"])
    db.session.commit()
    return visit


staff_face_limit = limit_per_caller("FACE_STAFF_RATE_LIMIT")


@bp.post("/staff/visits/<int:visit_id>/face-check")
@roles_required(STAFF, ADMIN)
@staff_face_limit
@allows_images
@bp.arguments(FaceBurstSchema)
@bp.response(200, FaceCheckSchema)
def face_check(body: dict[str, Any], visit_id: int):
    """Compare a live burst with the enrolled face of the donor at this open visit (1:1).

    `verified` only when the face matches and the burst shows a blink; every check is audited.
    """
    check = checkin.face_check(caller(), visit_id, body["frames"])
    db.session.commit()
    return check


@bp.post("/staff/face-identify")
@roles_required(STAFF, ADMIN)
@staff_face_limit
@allows_images
@bp.arguments(FaceIdentifySchema)
@bp.response(200, IdentificationSchema)
@answers(404)
def face_identify(body: dict[str, Any]):
    """Find a donor without an ID card among those booked at your site today (1:N).

    One candidate (masked name, birth year) for the donor to confirm, or none; never a list.
    """
    found = checkin.identify_at_site(caller(), body["site_id"], body["frames"])
    db.session.commit()
    return found


@bp.get("/staff/appointments")
@roles_required(STAFF, ADMIN)
@bp.arguments(schemas.StaffBookingQuerySchema, location="query")
@bp.response(200, schemas.StaffBookingPageSchema)
@answers(404)
def site_bookings(query: dict[str, Any]):
    """A day's bookings at your sites (or one), by time, with counts by kind and status."""
    site_ids = staff_views.staff_site_ids(caller(), query.get("site_id"))
    day = query.get("day") or clock.local_today()
    page = paginate(
        staff_views.site_bookings_query(site_ids, day, query.get("status"), query.get("kind")),
        query["page"],
        query["per_page"],
    )
    return {**page, "day": day, "counts": staff_views.booking_counts(site_ids, day)}


@bp.post("/staff/appointments/<int:booking_id>/no-show")
@roles_required(STAFF, ADMIN)
@bp.response(200, schemas.StaffBookingSchema)
def mark_no_show(booking_id: int):
    """Mark a booked donor who did not come (once the slot has started)."""
    booking = bookings.mark_no_show(caller(), booking_id)
    db.session.commit()
    return booking


# ---------------------------------------------------------------- admin


@bp.get("/admin/sites/<int:site_id>/schedule")
@roles_required(ADMIN)
@bp.response(200, schemas.ScheduleSchema)
def read_schedule(site_id: int):
    """A site's weekly sessions and holiday rules."""
    return schedule.schedule_of(get_site(site_id, include_inactive=True))


@bp.put("/admin/sites/<int:site_id>/schedule")
@roles_required(ADMIN)
@bp.arguments(schemas.ScheduleWriteSchema)
@bp.response(200, schemas.ScheduleSchema)
def replace_schedule(body: dict[str, Any], site_id: int):
    """Replace a site's weekly sessions; slots up to the horizon follow at once."""
    site = get_site(site_id, include_inactive=True)
    report = schedule.replace_schedule(site, body, caller())
    db.session.commit()
    return {**schedule.schedule_of(site), "slots": report}


@bp.get("/admin/sites/<int:site_id>/schedule-exceptions")
@roles_required(ADMIN)
@bp.arguments(schemas.ExceptionQuerySchema, location="query")
@bp.response(200, schemas.ExceptionPageSchema)
def list_exceptions(query: dict[str, Any], site_id: int):
    """A site's dated exceptions from a day on (today by default)."""
    site = get_site(site_id, include_inactive=True)
    select = schedule.exceptions_query(site, query.get("from_day") or clock.local_today())
    return paginate(select, query["page"], query["per_page"])


@bp.post("/admin/sites/<int:site_id>/schedule-exceptions")
@roles_required(ADMIN)
@bp.arguments(schemas.ExceptionWriteSchema)
@bp.response(201, schemas.ExceptionSchema)
def set_exception(body: dict[str, Any], site_id: int):
    """Close a day or change its hours; bookings on slots that go are cancelled by the site."""
    exception = schedule.set_exception(get_site(site_id, include_inactive=True), body, caller())
    db.session.commit()
    return exception


@bp.delete("/admin/sites/<int:site_id>/schedule-exceptions/<string(length=10):day>")
@roles_required(ADMIN)
@bp.response(204)
def remove_exception(site_id: int, day: str):
    """Drop a day's exception: the weekly sessions apply again."""
    schedule.remove_exception(get_site(site_id, include_inactive=True), _day(day), caller())
    db.session.commit()


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError("not_found", 404) from None

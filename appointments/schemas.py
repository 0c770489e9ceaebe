"""Shapes of schedules, slots, bookings, waiting lists, the health form and check-in visits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from appointments.bookings import shown_status
from appointments.models import (
    ACTIVE_WAITLIST,
    BOOKED,
    CANCELLED,
    CHECKED_IN,
    FULFILLED,
    HOLIDAYS_CLOSED,
    HOLIDAYS_OPEN,
    NO_SHOW,
    NOT_DONATED,
    OFFERED,
    RESCHEDULED,
    VISIT_CLOSED,
    VISIT_DONATED,
    VISIT_OPEN,
)
from appointments.places import change_until
from appointments.questionnaire import AskedForm, AskedQuestion
from appointments.waitlist import position_in_line, shown_entry_status
from certificate.models import REACTION_SEVERITIES
from certificate.policy import donation_rules
from certificate.schemas import EligibilitySchema, StaffDonorViewSchema
from certificate.services import reaction_severity
from core import clock
from core.i18n import prefers_english
from core.masking import mask_id_number, mask_name
from core.policy import policy_for
from core.schemas import (
    Date,
    LocalDateTime,
    PageMetaSchema,
    PageQuerySchema,
    StrictSchema,
    bounded_int,
    computed,
    page_of,
)
from donors.schemas import ResidentIdField
from sites.schemas import HH_MM, TIME_OF_DAY, SiteSchema

ID = (1, 2**31 - 1)
KIND = fields.String(validate=validate.Length(min=1, max=32))
BOOKING_STATUSES = (BOOKED, CHECKED_IN, FULFILLED, CANCELLED, RESCHEDULED, NO_SHOW, NOT_DONATED)
VISIT_STATUSES = (VISIT_OPEN, VISIT_DONATED, VISIT_CLOSED)
VISIT_OUTCOMES = ("deferred_at_screening", "left_without_donating", "other")
MAX_RANGE_DAYS = 31


def _kind_name(obj: Any) -> str:
    return donation_rules(policy_for(obj.site.region)).kind_name(obj.kind)


def _donation_reaction(donation_id: str = "donation_id") -> fields.Function:
    """The reaction recorded on the visit's donation: severity only, never the note."""
    return fields.Function(
        lambda visit: reaction_severity(ma.utils.get_value(visit, donation_id)),
        allow_none=True,
        metadata={
            "description": "the reaction recorded on the visit's donation: "
            + ", ".join(REACTION_SEVERITIES)
            + " (null: none recorded, or no donation)"
        },
    )


# ---------------------------------------------------------------- schedules (admin)


class ExceptionSessionSchema(StrictSchema):
    opens = fields.String(required=True, validate=validate.Regexp(TIME_OF_DAY), metadata=HH_MM)
    closes = fields.String(required=True, validate=validate.Regexp(TIME_OF_DAY), metadata=HH_MM)
    slot_minutes = bounded_int(10, 240, required=True)
    capacity = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=32)),
        values=bounded_int(0, 500),
        required=True,
        validate=validate.Length(min=1, max=10),
        metadata={
            "description": "places per slot, by donation kind",
            "example": {"whole_blood": 4},
        },
    )

    @ma.validates_schema
    def opens_before_closes(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("opens") and data.get("closes") and data["opens"] >= data["closes"]:
            raise ma.ValidationError("closes_before_opens", "closes")


class SessionSchema(ExceptionSessionSchema):
    weekday = fields.Integer(
        strict=True,
        required=True,
        validate=validate.Range(1, 7),
        metadata={"description": "ISO weekday: 1 = Monday … 7 = Sunday"},
    )


class ScheduleWriteSchema(StrictSchema):
    sessions = fields.List(
        fields.Nested(SessionSchema), required=True, validate=validate.Length(max=100)
    )
    public_holidays = fields.String(
        load_default=HOLIDAYS_CLOSED,
        validate=validate.OneOf([HOLIDAYS_CLOSED, HOLIDAYS_OPEN]),
        metadata={"description": "on statutory public holidays: closed, or open as usual"},
    )
    adjusted_workdays_as = fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(1, 7),
        metadata={
            "description": "an adjusted working day (调休上班日) opens with this weekday's "
            "sessions; null: with its own weekday's"
        },
    )


class SlotReportSchema(ma.Schema):
    opened = fields.Integer()
    updated = fields.Integer()
    closed = fields.Integer()
    bookings_cancelled = fields.Integer()
    offers = fields.Integer()


class ScheduleSchema(ma.Schema):
    site_id = fields.Integer()
    public_holidays = fields.String()
    adjusted_workdays_as = fields.Integer(allow_none=True)
    sessions = fields.List(fields.Nested(SessionSchema))
    updated_at = LocalDateTime(allow_none=True)
    slots = fields.Nested(SlotReportSchema, metadata={"description": "what the change did"})


class ExceptionWriteSchema(StrictSchema):
    day = Date(required=True)
    closed = fields.Boolean(required=True)
    sessions = fields.List(fields.Nested(ExceptionSessionSchema), validate=validate.Length(max=20))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))

    @ma.validates_schema
    def sessions_when_open(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("closed") and data.get("sessions"):
            raise ma.ValidationError("closed_day_has_sessions", "sessions")
        if data.get("closed") is False and not data.get("sessions"):
            raise ma.ValidationError("field_required", "sessions")


class ExceptionSchema(ma.Schema):
    id = fields.Integer()
    day = Date()
    closed = fields.Boolean()
    sessions = fields.List(fields.Nested(ExceptionSessionSchema))
    reason = fields.String()
    created_at = LocalDateTime()


ExceptionPageSchema = page_of(ExceptionSchema, "ScheduleExceptionPage")


class ExceptionQuerySchema(PageQuerySchema):
    from_day = Date(data_key="from", metadata={"description": "today by default"})


# ---------------------------------------------------------------- what donors see


class DateRangeQuerySchema(PageQuerySchema):
    """`from` (today by default) to `to` (a week later by default), at most 31 days."""

    from_day = Date(data_key="from")
    to_day = Date(data_key="to")

    @ma.post_load
    def fill_range(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        first = data.get("from_day") or clock.local_today()
        last = data.get("to_day") or first + timedelta(days=6)
        if last < first or (last - first).days >= MAX_RANGE_DAYS:
            raise ma.ValidationError("date_range_invalid", "to")
        data["from_day"], data["to_day"] = first, last
        return data


class SlotQuerySchema(DateRangeQuerySchema):
    kind = KIND
    free_only = fields.Boolean(load_default=False)


class SlotSchema(ma.Schema):
    id = fields.Integer()
    site_id = fields.Integer()
    day = Date()
    starts_at = LocalDateTime()
    ends_at = LocalDateTime()
    kind = fields.String()
    kind_name = fields.Function(_kind_name)
    capacity = fields.Integer()
    free = fields.Integer(metadata={"description": "0: full; join the day's waiting list"})


SlotPageSchema = page_of(SlotSchema, "SlotPage")


class DayQuerySchema(DateRangeQuerySchema):
    per_page = bounded_int(1, MAX_RANGE_DAYS, strict=False, load_default=MAX_RANGE_DAYS)


class OpeningSchema(ma.Schema):
    opens = fields.Function(lambda s: s.opens.strftime("%H:%M"))
    closes = fields.Function(lambda s: s.closes.strftime("%H:%M"))


class DaySchema(ma.Schema):
    day = Date()
    open = fields.Boolean()
    sessions = fields.List(fields.Nested(OpeningSchema))
    holiday = fields.String(allow_none=True, metadata={"description": "statutory holiday"})
    adjusted_workday = fields.Boolean(metadata={"description": "调休上班日"})
    calendar_known = fields.Boolean(
        metadata={"description": "false: the holiday calendar has no data for this year yet"}
    )
    closed_by = fields.String(allow_none=True, metadata={"description": "exception or holiday"})
    exception = fields.String(allow_none=True, metadata={"description": "the site's reason"})
    free_by_kind = fields.Dict(attribute="places", keys=fields.String(), values=fields.Integer())


DayPageSchema = page_of(DaySchema, "SiteDayPage")


class SiteSearchQuerySchema(DateRangeQuerySchema):
    city = fields.String(validate=validate.Length(min=1, max=64))
    lat = fields.Float(validate=validate.Range(-90, 90), allow_nan=False)
    lng = fields.Float(validate=validate.Range(-180, 180), allow_nan=False)
    radius_km = fields.Float(load_default=20.0, validate=validate.Range(0.1, 500), allow_nan=False)
    kind = KIND

    @ma.validates_schema
    def whole_point(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("lat" in data) != ("lng" in data):
            raise ma.ValidationError("point_incomplete", "lng" if "lat" in data else "lat")


class SiteSearchItemSchema(ma.Schema):
    site = fields.Nested(SiteSchema)
    distance_km = fields.Float(allow_none=True)
    free_places = fields.Integer()
    free_by_kind = fields.Dict(keys=fields.String(), values=fields.Integer())
    next_free_at = LocalDateTime()


SiteSearchPageSchema = page_of(SiteSearchItemSchema, "SiteSearchPage")


# ---------------------------------------------------------------- bookings (donor)


class BookingCreateSchema(StrictSchema):
    slot_id = bounded_int(*ID, required=True)


class BookingSiteSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    address = fields.String()
    city = fields.String()
    phone = fields.String(allow_none=True)
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    notice = fields.String(allow_none=True)


class BookingSchema(ma.Schema):
    """A `Booking` as its donor sees it."""

    id = fields.Integer()
    status = computed(
        fields.String(metadata={"description": ", ".join(BOOKING_STATUSES)}), shown_status
    )
    kind = fields.String()
    kind_name = computed(fields.String(), _kind_name)
    day = Date()
    starts_at = LocalDateTime(attribute="slot.starts_at")
    ends_at = LocalDateTime(attribute="slot.ends_at")
    site = fields.Nested(BookingSiteSchema)
    change_until = computed(
        LocalDateTime(metadata={"description": "cancel or reschedule online until"}), change_until
    )
    created_at = LocalDateTime()
    changed_at = LocalDateTime(allow_none=True)
    cancelled_by = fields.String(allow_none=True, metadata={"description": "donor, site, system"})
    rescheduled_to_id = fields.Integer(allow_none=True)
    calendar_url = computed(
        fields.String(metadata={"description": "the booking as an .ics file"}),
        lambda booking: f"/api/v1/me/appointments/{booking.id}/calendar.ics",
    )


BookingPageSchema = page_of(BookingSchema, "BookingPage")


class BookingListQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(BOOKING_STATUSES))


class WaitlistCreateSchema(StrictSchema):
    site_id = bounded_int(*ID, required=True)
    day = Date(required=True)
    kind = fields.String(required=True, validate=validate.Length(min=1, max=32))


class OfferSchema(ma.Schema):
    """The place a `WaitlistEntry` holds for its donor."""

    slot_id = fields.Integer(attribute="offered_slot_id")
    starts_at = LocalDateTime(attribute="offered_slot.starts_at")
    ends_at = LocalDateTime(attribute="offered_slot.ends_at")
    expires_at = LocalDateTime(
        attribute="offer_expires_at",
        metadata={"description": "accept before this, or it passes on"},
    )


class WaitlistEntrySchema(ma.Schema):
    """A `WaitlistEntry` as its donor sees it: an offer whose hold ran out shows expired at once."""

    id = fields.Integer()
    site = fields.Nested(BookingSiteSchema)
    day = Date()
    kind = fields.String()
    kind_name = computed(fields.String(), _kind_name)
    status = computed(
        fields.String(
            metadata={
                "description": f"{', '.join(ACTIVE_WAITLIST)}, accepted, expired, left, lapsed"
            }
        ),
        shown_entry_status,
    )
    position = computed(
        fields.Integer(allow_none=True, metadata={"description": "1: first in line"}),
        lambda entry: (
            position_in_line(entry) if shown_entry_status(entry) in ACTIVE_WAITLIST else None
        ),
    )
    offer = computed(
        fields.Nested(OfferSchema, allow_none=True),
        lambda entry: entry if shown_entry_status(entry) == OFFERED else None,
    )
    booking_id = fields.Integer(allow_none=True)
    created_at = LocalDateTime()


WaitlistPageSchema = page_of(WaitlistEntrySchema, "WaitlistPage")


# ---------------------------------------------------------------- health form


def _in_language(zh: str, en: str) -> str:
    """The policy's own wording, in the reader's language."""
    return en if prefers_english() else zh


def _question_text(asked: AskedQuestion) -> str:
    return _in_language(asked.question.text_zh, asked.question.text_en)


def _date_prompt(asked: AskedQuestion) -> str | None:
    return _in_language(asked.prompt.zh, asked.prompt.en) if asked.prompt else None


def _consent(form: AskedForm) -> str:
    return _in_language(form.edition.consent_zh, form.edition.consent_en)


class QuestionSchema(ma.Schema):
    """An `AskedQuestion` of the form a donor answers."""

    code = fields.String(attribute="question.code")
    text = computed(fields.String(), _question_text)
    date_prompt = computed(
        fields.String(
            allow_none=True, metadata={"description": "the date to give with a yes; null: none"}
        ),
        _date_prompt,
    )
    date_required = fields.Boolean()


class QuestionnaireFormSchema(ma.Schema):
    """The current `AskedForm` as its donor is asked it."""

    version = fields.String(attribute="edition.version")
    region = fields.String()
    questions = fields.List(fields.Nested(QuestionSchema))
    consent = computed(
        fields.String(metadata={"description": "the consent the donor signs"}), _consent
    )


class StrictBoolean(fields.Boolean):
    """JSON true or false only: a health answer is never guessed from "yes" or 1."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class AnswerSchema(StrictSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    answer = StrictBoolean(required=True)
    date = Date(allow_none=True, load_default=None)


class QuestionnaireSubmitSchema(StrictSchema):
    version = fields.String(required=True, validate=validate.Length(min=1, max=32))
    answers = fields.List(
        fields.Nested(AnswerSchema), required=True, validate=validate.Length(max=100)
    )
    consent = StrictBoolean(required=True, metadata={"description": "true: the donor agrees"})


class QuestionnaireResponseSchema(ma.Schema):
    """A `SignedForm`; `booking_affected` only for its donor (an `OwnSignedForm`)."""

    id = fields.Integer(attribute="response.id")
    version = fields.String(attribute="response.version")
    signed_at = LocalDateTime(attribute="response.signed_at")
    answers_sha256 = fields.String(attribute="response.answers_sha256")
    intact = fields.Boolean(metadata={"description": "the stored answers still match the hash"})
    result = fields.Dict(metadata={"description": "outcome, deferrals with dates, kinds"})
    answers = fields.List(fields.Dict())
    ip = fields.String(attribute="response.ip")
    user_agent = fields.String(attribute="response.user_agent")
    booking_affected = fields.Boolean(
        metadata={"description": "true: the answers defer the booked kind past its day"}
    )


class StaffQuestionnaireSchema(QuestionnaireResponseSchema):
    """A `SignedForm` at a visit, or a `NoSignedForm` (its status alone)."""

    status = fields.String(metadata={"description": "valid, or missing"})


# ---------------------------------------------------------------- check-in and visits


class CheckinCodeSchema(ma.Schema):
    """A check-in code (`core.signing.RotatingCode`)."""

    code = fields.String(metadata={"description": "what the QR code holds (compact JWS)"})
    expires_at = LocalDateTime()
    expires_in = fields.Integer(metadata={"description": "seconds; fetch a new code before"})


class CheckinCreateSchema(StrictSchema):
    site_id = bounded_int(*ID, required=True)
    code = fields.String(
        validate=validate.Length(min=1, max=2048),
        metadata={"description": "the scanned check-in code"},
    )
    id_number = ResidentIdField(metadata={"description": "a walk-in's ID number instead"})

    @ma.validates_schema
    def code_or_id_number(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("code" in data) == ("id_number" in data):
            raise ma.ValidationError("checkin_code_or_id_number", "code")


class StaffBookingDonorSchema(ma.Schema):
    id = fields.Integer()
    name = fields.Function(lambda d: mask_name(d.name))
    id_number = fields.Function(lambda d: mask_id_number(d.id_number))


class VisitBookingSchema(ma.Schema):
    id = fields.Integer()
    status = fields.String()
    kind = fields.String()
    kind_name = fields.Function(_kind_name)
    day = Date()
    starts_at = LocalDateTime(attribute="slot.starts_at")
    ends_at = LocalDateTime(attribute="slot.ends_at")


class StaffBookingSchema(VisitBookingSchema):
    site_id = fields.Integer()
    donor = fields.Nested(StaffBookingDonorSchema)
    created_at = LocalDateTime()


class StaffListQuerySchema(PageQuerySchema):
    site_id = bounded_int(*ID, strict=False, metadata={"description": "default: all my sites"})
    day = Date(metadata={"description": "today by default"})
    kind = KIND


class StaffBookingQuerySchema(StaffListQuerySchema):
    status = fields.String(validate=validate.OneOf(BOOKING_STATUSES))


class StaffVisitQuerySchema(StaffListQuerySchema):
    status = fields.String(validate=validate.OneOf(VISIT_STATUSES))


class CountsSchema(ma.Schema):
    total = fields.Integer()
    by_kind = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_kind_and_status = fields.Dict(
        keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Integer())
    )


class VisitSchema(ma.Schema):
    """A `VisitAtDesk`."""

    id = fields.Integer(attribute="visit.id")
    site_id = fields.Integer(attribute="visit.site_id")
    day = Date(attribute="visit.day")
    status = fields.String(
        attribute="visit.status", metadata={"description": ", ".join(VISIT_STATUSES)}
    )
    method = fields.String(attribute="visit.method", metadata={"description": "qr or id_number"})
    opened_at = LocalDateTime(attribute="visit.opened_at")
    closed_at = LocalDateTime(attribute="visit.closed_at", allow_none=True)
    outcome = fields.String(attribute="visit.outcome", allow_none=True)
    face_verified_at = LocalDateTime(
        attribute="visit.face_verified_at",
        allow_none=True,
        metadata={"description": "when a face check showed the donor's own face, live"},
    )
    donation_id = fields.Integer(attribute="visit.donation_id", allow_none=True)
    donation_reaction = _donation_reaction("visit.donation_id")
    donor = fields.Nested(StaffDonorViewSchema, attribute="visit.donor")
    eligibility = fields.List(fields.Nested(EligibilitySchema))
    questionnaire = fields.Nested(StaffQuestionnaireSchema)
    booking = fields.Nested(VisitBookingSchema, attribute="visit.booking", allow_none=True)


class VisitListItemSchema(ma.Schema):
    id = fields.Integer()
    site_id = fields.Integer()
    status = fields.String()
    method = fields.String()
    opened_at = LocalDateTime()
    outcome = fields.String(allow_none=True)
    donor = fields.Nested(StaffBookingDonorSchema)
    booking_id = fields.Integer(allow_none=True)
    donation_id = fields.Integer(allow_none=True)
    donation_reaction = _donation_reaction()


class VisitCloseSchema(StrictSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(VISIT_OUTCOMES))


def _staff_page(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    return ma.Schema.from_dict(
        {
            "day": Date(),
            "counts": fields.Nested(CountsSchema),
            "items": fields.List(fields.Nested(item)),
            "page": fields.Nested(PageMetaSchema),
        },
        name=name,
    )


StaffBookingPageSchema = _staff_page(StaffBookingSchema, "StaffBookingPage")
StaffVisitPageSchema = _staff_page(VisitListItemSchema, "StaffVisitPage")


# ---------------------------------------------------------------- health-form editions


class QuestionnaireEditionQuerySchema(PageQuerySchema):
    region = fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={"description": "policy region (default: the donor's, else the service's)"},
    )
    on = Date(metadata={"description": "only the edition in force on this date"})


class EditionQuestionSchema(ma.Schema):
    """An `AskedQuestion` of any edition, with what a client needs to build the form offline."""

    code = fields.String(
        attribute="question.code",
        metadata={"description": "the answer's code in POST /me/questionnaire"},
    )
    text = computed(fields.String(), _question_text)
    defers = fields.String(
        attribute="question.defers",
        metadata={
            "description": "the deferral reason code a yes leads to (GET /staff/deferral-reasons)"
        },
    )
    only_sex = fields.String(
        attribute="question.only_sex",
        allow_none=True,
        metadata={"description": "asked only of this sex (female or male); null: everyone"},
    )
    date_asked = fields.Boolean(metadata={"description": "a yes goes with a date"})
    date_required = fields.Boolean(metadata={"description": "a yes must give the date"})
    date_prompt = computed(fields.String(allow_none=True), _date_prompt)


class QuestionnaireEditionSchema(ma.Schema):
    """An `AskedForm`: one edition of the region's health form."""

    version = fields.String(attribute="edition.version")
    region = fields.String()
    effective_from = Date(attribute="edition.effective_from")
    effective_to = Date(attribute="edition.effective_to", allow_none=True)
    in_force = fields.Boolean(metadata={"description": "the edition donors answer today"})
    consent = computed(fields.String(), _consent)
    questions = fields.List(fields.Nested(EditionQuestionSchema))
    source = fields.String()


QuestionnaireEditionPageSchema = page_of(QuestionnaireEditionSchema, "QuestionnaireEditionPage")

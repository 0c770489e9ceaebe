"""The pre-donation health form: current questions, signed answers, and what they mean.

Each "yes" names a deferral rule of the health standard in force; the rule's period, counted from
the date the donor gives (recovery, the event, the last dose, the end of a period), says until
when the donor should not give, and for which kinds. The answers only inform: the backend does
not diagnose, and staff decide at the site (and record a deferral there if needed).

Signing keeps, for good: the form's version, a SHA-256 of the canonical answer document, the time,
the client's address and its User-Agent. The document includes a random nonce, so the stored hash
proves these answers were signed without letting anyone confirm guesses about them. Answers are
encrypted at rest; donors read their own, staff only those of a donor checked in at their site.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, cast

from flask import current_app
from sqlalchemy import CursorResult, delete, select, update

from appointments.events import questionnaire_signed
from appointments.models import ACTIVE_BOOKING, Booking, QuestionnaireResponse, Visit
from appointments.rules import Question, QuestionnaireEdition, booking_rules, questionnaires
from certificate.policy import donation_rules
from core import audit, clock
from core.errors import ApiError, prefers_english
from core.extensions import db
from core.policy import PolicyUndecided, RegionPolicy, policy_for, regions
from donors.models import Donor

PERIOD_END_AHEAD = timedelta(days=14)  # a period's end date may be expected, not yet past


@dataclass(frozen=True)
class DatePrompt:
    zh: str
    en: str
    required: bool  # recovery: no date means "not recovered yet"
    future_allowed: bool = False


# What the date of a "yes" is, by the deferral rule's anchor (POLICY.md §1.6 design note).
DATE_PROMPTS = {
    "recovery": DatePrompt(
        "痊愈日期（尚未痊愈请不填）", "Date you recovered (empty if not yet)", False
    ),
    "event": DatePrompt("发生日期", "Date it happened", True),
    "last_dose": DatePrompt("最后一次用药或接种的日期", "Date of the last dose", True),
    "period_end": DatePrompt(
        "本次月经结束（或预计结束）的日期", "Date your period ended (or will end)", True, True
    ),
}


def _prompt(policy: RegionPolicy, code: str, on: date) -> DatePrompt | None:
    rule = donation_rules(policy).deferral(code, on)
    if rule.period is None:
        return None  # pregnancy, an incubation period: no date to count from
    return DATE_PROMPTS.get(rule.anchor, DATE_PROMPTS["event"])


def current_edition(donor: Donor, on: date | None = None) -> QuestionnaireEdition:
    try:
        return questionnaires(donor.region).current(on or clock.local_today())
    except PolicyUndecided:
        raise ApiError("questionnaire_not_in_force", 409) from None


@dataclass(frozen=True)
class AskedQuestion:
    """A question as a form asks it on a day: with the date a "yes" goes with, if any."""

    question: Question
    prompt: DatePrompt | None

    @property
    def date_asked(self) -> bool:
        return self.prompt is not None

    @property
    def date_required(self) -> bool:
        return self.prompt is not None and self.prompt.required


@dataclass(frozen=True)
class AskedForm:
    """An edition of the region's health form with its questions as asked (the current one, or
    any edition a client reads to build or read the form offline)."""

    edition: QuestionnaireEdition
    region: str
    questions: tuple[AskedQuestion, ...]
    in_force: bool
    source: str


def form_for(donor: Donor) -> AskedForm:
    """The current form as this donor is asked it (some questions are for women only)."""
    today = clock.local_today()
    edition = current_edition(donor, today)
    policy = policy_for(donor.region)
    questions = tuple(
        AskedQuestion(question, _prompt(policy, question.defers, today))
        for question in edition.questions_for(donor.sex)
    )
    source = questionnaires(donor.region).source
    return AskedForm(edition, donor.region, questions, in_force=True, source=source)


def _asked_on(edition: QuestionnaireEdition, today: date) -> date:
    """The day whose health standard gives an edition's date prompts: today while it is in
    force, else its first (a coming edition) or last day (a past one)."""
    if today < edition.effective_from:
        return edition.effective_from
    if edition.effective_to is not None and today > edition.effective_to:
        return edition.effective_to
    return today


def editions_of(region: str | None, on: date | None = None) -> list[AskedForm]:
    """The region's health-form editions, newest first (only the one in force on `on`, if
    given): each question's code, text, the deferral code a "yes" records, who is asked it and
    whether a date goes with the yes. What a client needs to build or read the form offline."""
    region = region or current_app.config["DEFAULT_REGION"]
    if region not in regions():
        raise ApiError("region_unknown", 422, errors={"region": ["region_unknown"]})
    policy, forms = policy_for(region), questionnaires(region)
    today = clock.local_today()
    editions = sorted(forms.editions, key=lambda e: e.effective_from, reverse=True)
    return [
        _edition_as_read(policy, edition, region, today, forms.source)
        for edition in editions
        if on is None or edition.covers(on)
    ]


def _edition_as_read(
    policy: RegionPolicy, edition: QuestionnaireEdition, region: str, today: date, source: str
) -> AskedForm:
    """Every question of an edition, with the date prompts of the day it is (or was) asked on.

    A past or coming edition may name a rule its day's standard lacks: no date prompt then."""
    asked_on = _asked_on(edition, today)
    questions = []
    for question in edition.questions:
        try:
            prompt = _prompt(policy, question.defers, asked_on)
        except (KeyError, PolicyUndecided):
            prompt = None
        questions.append(AskedQuestion(question, prompt))
    return AskedForm(edition, region, tuple(questions), edition.covers(today), source)


def _check_answers(
    donor: Donor, edition: QuestionnaireEdition, answers: list[dict[str, Any]], today: date
) -> list[dict[str, Any]]:
    """Exactly the donor's questions, once each, with the dates a "yes" needs."""
    policy = policy_for(donor.region)
    asked = {question.code: question for question in edition.questions_for(donor.sex)}
    given: dict[str, dict[str, Any]] = {}
    problems: dict[str, list[str]] = {}
    for answer in answers:
        code = answer["code"]
        if code not in asked:
            problems[code] = ["questionnaire_unknown_question"]
        elif code in given:
            problems[code] = ["questionnaire_incomplete"]
        given[code] = answer
    for code in asked.keys() - given.keys():
        problems[code] = ["questionnaire_incomplete"]
    if problems:
        raise ApiError("questionnaire_incomplete", 422, errors={"answers": problems})
    ordered = []
    for code, question in asked.items():
        answer = given[code]
        day = answer.get("date")
        prompt = _prompt(policy, question.defers, today)
        if not answer["answer"] and day is not None:
            problems[code] = ["answer_date_not_needed"]
        elif answer["answer"] and prompt and prompt.required and day is None:
            problems[code] = ["answer_date_required"]
        elif answer["answer"] and day is not None and prompt is None:
            problems[code] = ["answer_date_not_needed"]
        elif day is not None and prompt is not None:
            latest = today + (PERIOD_END_AHEAD if prompt.future_allowed else timedelta(0))
            if day > latest:
                problems[code] = ["answer_date_in_future"]
        ordered.append(
            {"code": code, "answer": answer["answer"], "date": day.isoformat() if day else None}
        )
    if problems:
        raise ApiError("validation_failed", 422, errors={"answers": problems})
    return ordered


def evaluate(
    policy: RegionPolicy, edition: QuestionnaireEdition, answers: list[dict[str, Any]], on: date
) -> dict[str, Any]:
    """What the answers mean on `on`: which kinds are deferred, and until when."""
    questions = {question.code: question for question in edition.questions}
    standard = donation_rules(policy).standard(on)
    deferrals = []
    for answer in answers:
        if not answer["answer"]:
            continue
        rule = donation_rules(policy).deferral(questions[answer["code"]].defers, on)
        anchor = date.fromisoformat(answer["date"]) if answer["date"] else None
        until = rule.period.add_to(anchor) if rule.period and anchor else None
        if until is not None and until <= on:
            continue  # the period is over
        deferrals.append(
            {
                "question": answer["code"],
                "reason_code": rule.code,
                "reason_name": rule.name_zh,
                "until": until.isoformat() if until else None,
                "applies_to": list(rule.applies_to) if rule.applies_to else None,
                "period": str(rule.period) if rule.period else None,
            }
        )
    kinds = []
    for kind in standard.kinds:
        blocking = [d for d in deferrals if d["applies_to"] is None or kind in d["applies_to"]]
        dates = [d["until"] for d in blocking]
        until = None if (not blocking or None in dates) else max(dates)
        kinds.append(
            {
                "kind": kind,
                "kind_name": donation_rules(policy).kind_name(kind),
                "deferred": bool(blocking),
                "until": until,
            }
        )
    if not deferrals:
        outcome = "no_deferral"
    elif any(d["until"] is None for d in deferrals):
        outcome = "see_staff"  # no date can be given: the staff decide
    else:
        outcome = "deferred"
    return {"on": on.isoformat(), "outcome": outcome, "deferrals": deferrals, "kinds": kinds}


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def sign(
    donor: Donor, body: dict[str, Any], client_ip: str, user_agent: str
) -> QuestionnaireResponse:
    """Record the donor's answers and consent; the record can never be changed afterwards.
    Other packages hear of it (`questionnaire_signed`: rewards' points, wired in wiring.py)."""
    today = clock.local_today()
    edition = current_edition(donor, today)
    if body["version"] != edition.version:
        raise ApiError("questionnaire_outdated", 409, errors={"version": [edition.version]})
    if not body["consent"]:
        raise ApiError("consent_required", 422, errors={"consent": ["consent_required"]})
    answers = _check_answers(donor, edition, body["answers"], today)
    policy = policy_for(donor.region)
    now = clock.now()
    document = {
        "questionnaire": edition.version,
        "region": donor.region,
        "donor": donor.id,
        "signed_at": now.isoformat(),
        "consent": edition.consent_zh,
        "answers": answers,
        "nonce": secrets.token_hex(16),
    }
    result = evaluate(policy, edition, answers, today)
    response = QuestionnaireResponse(
        donor_id=donor.id,
        region=donor.region,
        version=edition.version,
        answers=json.dumps({"document": document, "result": result}, ensure_ascii=False),
        answers_sha256=hashlib.sha256(canonical(document)).hexdigest(),
        signed_at=now,
        ip=(client_ip or "unknown")[:45],
        user_agent=(user_agent or "unknown")[:300],
    )
    db.session.add(response)
    db.session.flush()
    audit.record(
        "questionnaire.signed",
        actor=("donor", donor.id),
        target=("questionnaire", response.id),
        details={"version": edition.version, "sha256": response.answers_sha256},
    )
    questionnaire_signed.send(current_app._get_current_object(), response=response)  # type: ignore[attr-defined]
    return response


def erase_answers(donor: Donor) -> int:
    """Erasure: the donor's signed health forms go whole, and their visits forget them.

    A signed record cannot be changed (the database refuses any UPDATE), and one stripped of its
    answers would prove nothing, so each is deleted; the visits and donations stay.
    """
    db.session.execute(
        update(Visit)
        .where(Visit.donor_id == donor.id, Visit.questionnaire_response_id.is_not(None))
        .values(questionnaire_response_id=None)
    )
    deleted = cast(
        CursorResult[Any],
        db.session.execute(
            delete(QuestionnaireResponse).where(QuestionnaireResponse.donor_id == donor.id)
        ),
    ).rowcount
    if deleted:
        audit.record(
            "questionnaire.erased",
            actor=("donor", donor.id),
            target=("donor", donor.id),
            details={"responses": deleted},
        )
    return deleted


def latest_response(donor_id: int) -> QuestionnaireResponse | None:
    return db.session.scalar(
        select(QuestionnaireResponse)
        .where(QuestionnaireResponse.donor_id == donor_id)
        .order_by(QuestionnaireResponse.signed_at.desc(), QuestionnaireResponse.id.desc())
        .limit(1)
    )


def valid_response(donor: Donor, at: datetime | None = None) -> QuestionnaireResponse | None:
    """The latest answers signed recently enough to count for a visit at `at` (default now)."""
    at = at or clock.now()
    window = booking_rules(donor.region).questionnaire_valid
    response = db.session.scalar(
        select(QuestionnaireResponse)
        .where(
            QuestionnaireResponse.donor_id == donor.id,
            QuestionnaireResponse.signed_at > at - window,
            QuestionnaireResponse.signed_at <= at,
        )
        .order_by(QuestionnaireResponse.signed_at.desc(), QuestionnaireResponse.id.desc())
        .limit(1)
    )
    return response


@dataclass(frozen=True)
class SignedForm:
    """A signed health form as the donor, or staff at the site of the donor's visit, read it: the
    record, the answers as signed with their questions' texts, and what they meant that day."""

    response: QuestionnaireResponse
    document: dict[str, Any]  # the signed answer document: answers, consent, nonce
    result: dict[str, Any]  # what the answers meant on the day they were signed
    edition: QuestionnaireEdition | None  # None once the policy no longer lists it
    status: ClassVar[str] = "valid"  # staff's word for a form that counts for the visit

    @property
    def intact(self) -> bool:
        """The stored answers still match the hash signed."""
        return hashlib.sha256(canonical(self.document)).hexdigest() == self.response.answers_sha256

    @property
    def answers(self) -> list[dict[str, Any]]:
        """The answers as signed, each with its question's text in the reader's language."""
        english = prefers_english()
        questions = self.edition.questions if self.edition is not None else ()
        texts = {q.code: q.text_en if english else q.text_zh for q in questions}
        answers = self.document["answers"]
        return [{**answer, "text": texts.get(answer["code"])} for answer in answers]


@dataclass(frozen=True)
class OwnSignedForm(SignedForm):
    """The donor's own signed form, and whether it defers the kind they are booked for."""

    booking_affected: bool


@dataclass(frozen=True)
class NoSignedForm:
    """No form signed recently enough to count for the visit: staff see only that."""

    status: str = "missing"


def signed_form(response: QuestionnaireResponse) -> SignedForm:
    stored = json.loads(response.answers)
    edition = questionnaires(response.region).edition(response.version)
    return SignedForm(response, stored["document"], stored["result"], edition)


def booking_affected(donor: Donor, result: dict[str, Any]) -> bool:
    """Whether the answers defer the kind of the donor's active booking past its day."""
    booking = db.session.scalar(
        select(Booking).where(Booking.donor_id == donor.id, Booking.status.in_(ACTIVE_BOOKING))
    )
    if booking is None:
        return False
    for kind in result["kinds"]:
        if kind["kind"] == booking.kind and kind["deferred"]:
            return kind["until"] is None or date.fromisoformat(kind["until"]) > booking.day
    return False


def own_signed_form(donor: Donor, response: QuestionnaireResponse) -> OwnSignedForm:
    form = signed_form(response)
    return OwnSignedForm(
        form.response,
        form.document,
        form.result,
        form.edition,
        booking_affected=booking_affected(donor, form.result),
    )


def form_at_visit(response: QuestionnaireResponse | None) -> SignedForm | NoSignedForm:
    """What staff see of the form at check-in, answers included (they serve the donor's site)."""
    return signed_form(response) if response is not None else NoSignedForm()

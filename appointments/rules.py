"""What appointments read from the region policy: the booking settings and the health form.

Both sections are registered with the one policy loader when this package is imported, so a
mistake in them stops the app at start with the file and the key, like any other policy error.
The booking settings are operational choices (the file says so in their `source`); the form's
questions are the service's wording, and each "yes" names a deferral rule of the health
standard, whose period gives the date: no figure here is a regulator's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from certificate.policy import donation_rules
from core.policy import (
    PolicyError,
    PolicyReader,
    PolicyUndecided,
    RegionPolicy,
    Sections,
    policy_for,
)

SEXES = ("female", "male")


@dataclass(frozen=True)
class BookingRules:
    """How far ahead donors book, when they may still change, how long offers and codes last."""

    horizon_days: int
    booking_closes: timedelta
    change_cutoff: timedelta
    offer_hold: timedelta
    checkin_code_life: timedelta
    questionnaire_valid: timedelta
    max_waitlist_entries: int
    source: str


def _read_booking_rules(section: PolicyReader) -> BookingRules:
    def minutes(name: str) -> timedelta:
        return timedelta(minutes=section.positive(name))

    rules = BookingRules(
        horizon_days=section.positive("booking_horizon_days"),
        booking_closes=minutes("booking_closes_minutes"),
        change_cutoff=minutes("change_cutoff_minutes"),
        offer_hold=minutes("offer_hold_minutes"),
        checkin_code_life=timedelta(seconds=section.positive("checkin_code_seconds")),
        questionnaire_valid=timedelta(hours=section.positive("questionnaire_valid_hours")),
        max_waitlist_entries=section.positive("max_waitlist_entries"),
        source=section.source(),
    )
    if rules.checkin_code_life > timedelta(minutes=5):
        raise section.fail("checkin_code_seconds", "a check-in code must rotate within 5 minutes")
    return rules


@dataclass(frozen=True)
class Question:
    code: str
    defers: str  # a deferral rule code of the health standard
    text_zh: str
    text_en: str
    only_sex: str | None

    def asked_of(self, sex: str) -> bool:
        return self.only_sex is None or self.only_sex == sex


@dataclass(frozen=True)
class QuestionnaireEdition:
    version: str
    effective_from: date
    effective_to: date | None
    consent_zh: str
    consent_en: str
    questions: tuple[Question, ...]

    def covers(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def questions_for(self, sex: str) -> tuple[Question, ...]:
        return tuple(question for question in self.questions if question.asked_of(sex))


@dataclass(frozen=True)
class Questionnaires:
    editions: tuple[QuestionnaireEdition, ...]
    source: str

    def current(self, on: date) -> QuestionnaireEdition:
        for edition in self.editions:
            if edition.covers(on):
                return edition
        raise PolicyUndecided("questionnaire", f"no health questionnaire is in force on {on}")

    def edition(self, version: str) -> QuestionnaireEdition | None:
        return next((e for e in self.editions if e.version == version), None)


def _read_question(reader: PolicyReader) -> Question:
    only_sex = reader.text("only_sex", required=False)
    if only_sex is not None and only_sex not in SEXES:
        raise reader.fail("only_sex", f"must be one of {SEXES}")
    question = Question(
        code=reader.text("code"),
        defers=reader.text("defers"),
        text_zh=reader.text("text_zh"),
        text_en=reader.text("text_en"),
        only_sex=only_sex,
    )
    reader.finish()
    return question


def _read_edition(reader: PolicyReader) -> QuestionnaireEdition:
    start = reader.day("effective_from")
    end = reader.day("effective_to", required=False)
    if end is not None and end < start:
        raise reader.fail("effective_to", f"{end} is before effective_from {start}")
    questions = tuple(_read_question(item) for item in reader.tables("questions"))
    if not questions:
        raise reader.fail("questions", "lists no questions")
    codes = [question.code for question in questions]
    if len(set(codes)) != len(codes):
        raise reader.fail("questions", "a question code appears twice")
    edition = QuestionnaireEdition(
        version=reader.text("version"),
        effective_from=start,
        effective_to=end,
        consent_zh=reader.text("consent_zh"),
        consent_en=reader.text("consent_en"),
        questions=questions,
    )
    reader.finish()
    return edition


def _read_questionnaires(section: PolicyReader) -> Questionnaires:
    editions = tuple(_read_edition(item) for item in section.tables("editions"))
    if not editions:
        raise section.fail("editions", "lists no edition")
    if len({edition.version for edition in editions}) != len(editions):
        raise section.fail("editions", "a version appears twice")
    ordered = sorted(editions, key=lambda edition: edition.effective_from)
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if earlier.effective_to is None or later.effective_from <= earlier.effective_to:
            raise section.fail("editions", "date ranges overlap: one edition in force a day")
    return Questionnaires(editions, section.source())


def _check_questionnaires(policy: RegionPolicy, questionnaires: Questionnaires) -> None:
    """Every question names a deferral rule of each health standard it may be answered under."""
    for e_index, edition in enumerate(questionnaires.editions):
        for standard in donation_rules(policy).standards:
            overlaps = (
                standard.effective_to is None or edition.effective_from <= standard.effective_to
            ) and (edition.effective_to is None or standard.effective_from <= edition.effective_to)
            if not overlaps:
                continue
            for q_index, question in enumerate(edition.questions):
                if question.defers not in standard.deferrals:
                    raise PolicyError(
                        policy.path,
                        f"questionnaire.editions[{e_index}].questions[{q_index}].defers",
                        f"{question.defers!r} is not a deferral rule of {standard.id}",
                    )


POLICY_SECTIONS: Sections = {
    "appointments": (_read_booking_rules, None),
    "questionnaire": (_read_questionnaires, _check_questionnaires),
}


def booking_rules(region: str | None) -> BookingRules:
    return policy_for(region).section("appointments")


def questionnaires(region: str | None) -> Questionnaires:
    return policy_for(region).section("questionnaire")

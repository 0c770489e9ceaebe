"""A hostile client: schemathesis over every operation of the API, once per kind of caller.

For each role (anonymous, donor, staff, admin, gate) it generates requests from the API
document, valid and invalid, sends them with that role's token, and checks every answer: no 5xx,
a status the document lists for the operation, the content type and the body it documents.
scripts/hostile-client runs it against a server on a fresh demo database (or a URL) and prints
the figures; tests/core/test_hostile_client.py runs it in-process, over WSGI.

Tokens are minted with core.auth for the demo's principals (`flask demo load`), and minted
again whenever an answer is 401: schemathesis calls /auth/logout too, which ends the session.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.engine import events, from_schema
from sqlalchemy import select

ROLES = ("anonymous", "donor", "staff", "admin", "gate", "hospital")
CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "status_code_conformance",
    "content_type_conformance",
)

# The demo's principals (demo.py) a role's token is minted for.
DEMO_STAFF = {"staff": "wulin", "admin": "admin"}
DEMO_DONOR_MOBILE = "13800000001"


@dataclass
class Finding:
    operation: str
    check: str
    title: str
    status: int | None

    def __str__(self) -> str:
        return f"{self.operation}: {self.check}: {self.title} (HTTP {self.status})"


@dataclass
class RoleReport:
    role: str
    operations: int = 0
    cases: int = 0
    failures: Counter = field(default_factory=Counter)  # failing cases, by check
    findings: dict[tuple[str, str, str], Finding] = field(default_factory=dict)  # unique
    errors: list[str] = field(default_factory=list)  # operations schemathesis could not test

    @property
    def clean(self) -> bool:
        return not self.failures and not self.errors

    def line(self) -> str:
        by_check = ", ".join(f"{check} {self.failures[check]}" for check in CHECKS)
        return (
            f"{self.role:9} operations {self.operations:3}  cases {self.cases:6}  "
            f"failures: {by_check}  unique {len(self.findings)}  errors {len(self.errors)}"
        )


def settings(max_examples: int, seed: int | None = None) -> schemathesis.Config:
    """Every check the issue names, the examples, coverage and fuzzing phases, one worker."""
    checks: dict[str, Any] = {"enabled": False}
    checks.update({name: {"enabled": True} for name in CHECKS})
    config: dict[str, Any] = {
        "checks": checks,
        "generation": {"max-examples": max_examples, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        "workers": 1,
        "suppress-health-check": ["all"],
        "output": {"sanitization": {"enabled": False}},
    }
    if seed is not None:
        config["seed"] = seed
    return schemathesis.Config.from_dict(config)


def mint_token(role: str) -> str | None:
    """A fresh access token for the demo principal of `role` (in an app context on the demo's
    database), or None for the anonymous caller."""
    from core import auth
    from core.extensions import db
    from core.models import Device
    from donors.identity import parse_mobile
    from donors.models import Donor
    from donors.services import mobile_hash
    from sites.models import StaffUser

    if role == "anonymous":
        return None
    if role == "donor":
        donor = db.session.scalar(
            select(Donor).where(Donor.mobile_hash == mobile_hash(parse_mobile(DEMO_DONOR_MOBILE)))
        )
        tokens = auth.issue_tokens("donor", donor.id, auth.DONOR)
    elif role in DEMO_STAFF:
        user = db.session.scalar(select(StaffUser).where(StaffUser.username == DEMO_STAFF[role]))
        tokens = auth.issue_tokens("staff", user.id, user.role)
    elif role == "gate":
        gate = db.session.scalar(select(Device).where(Device.role == auth.GATE).limit(1))
        tokens = auth.issue_tokens("device", gate.id, auth.GATE, {"kind": gate.benefit_kind})
    elif role == "hospital":
        cashier = db.session.scalar(select(Device).where(Device.role == auth.HOSPITAL).limit(1))
        tokens = auth.issue_tokens("device", cashier.id, auth.HOSPITAL)
    else:
        raise ValueError(f"unknown role {role!r}")
    db.session.commit()
    return tokens["access_token"]


def minter(app: Any, role: str) -> Callable[[], str | None]:
    """`mint_token(role)` in an app context of its own: schemathesis asks from its own thread."""

    def token() -> str | None:
        with app.app_context():
            return mint_token(role)

    return token


def attach_token(schema: Any, token: Callable[[], str | None]) -> None:
    """Send a token from `token()` with every request, and a new one after any 401."""

    @schema.auth(refresh_interval=3600, retry_on=[401])
    class Minted:
        def get(self, case: Any, context: Any) -> str | None:
            return token()

        def set(self, case: Any, data: str | None, context: Any) -> None:
            if data is not None:
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def run(schema: Any, role: str) -> RoleReport:
    """Run schemathesis over every operation of `schema` and gather the figures."""
    report = RoleReport(role)
    operations: set[str] = set()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.is_test_scenario:
            recorder = event.recorder
            if recorder.label:
                operations.add(recorder.label)
            report.cases += len(recorder.interactions)
            for case_id, checks in recorder.checks.items():
                failed = {node.name: node for node in checks if node.failure_info is not None}
                for name, node in failed.items():
                    report.failures[name] += 1
                    response = recorder.find_response(case_id=case_id)
                    finding = Finding(
                        recorder.label,
                        name,
                        node.failure_info.failure.title,
                        response.status_code if response is not None else None,
                    )
                    report.findings.setdefault((finding.operation, name, finding.title), finding)
        elif isinstance(event, events.NonFatalError):
            report.errors.append(f"{event.label}: {event.info}")
        elif isinstance(event, events.FatalError):
            report.errors.append(f"fatal: {event.exception!r}")
    report.operations = len(operations)
    return report

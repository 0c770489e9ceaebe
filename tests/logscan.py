"""Personal data in log lines: a scanner, and a capture of every record of every logger.

`find_personal_data(lines, secrets)` returns what a line should never hold: a valid Resident
Identity Card number, a mainland mobile number (with or without +86), a JWT, or any of the
`secrets` the caller used (one-time codes, names, the ID numbers and numbers it sent). It reads
plain lines, so the load run (bench/load.py) can feed it a server's log files as well as the
in-process capture below.

`captured_logs()` attaches a handler to the root logger and to every logger that does not
propagate, lowers every logger to DEBUG for the block, and formats each record as production
does, with the exception text when there is one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from stdnum.cn import ric

PRODUCTION_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"  # app.create_app's

_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(?:(?:\+|%2B|00)?86[ -]?)?1[3-9]\d{9}(?![0-9A-Za-z])")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class Finding:
    kind: str
    text: str
    line: str

    def __str__(self) -> str:
        return f"{self.kind} {self.text!r} in: {self.line[:300]}"


def find_personal_data(lines: Iterable[str], secrets: Iterable[str] = ()) -> list[Finding]:
    """Every piece of personal data (or secret the caller names) found in `lines`."""
    named = [secret for secret in set(secrets) if secret]
    findings = []
    for line in lines:
        findings += [
            Finding("id_number", found, line)
            for found in _ID_NUMBER.findall(line)
            if ric.is_valid(found)
        ]
        findings += [Finding("mobile", found, line) for found in _MOBILE.findall(line)]
        findings += [Finding("jwt", found, line) for found in _JWT.findall(line)]
        findings += [Finding("secret", secret, line) for secret in named if _holds(line, secret)]
    return findings


def _holds(line: str, secret: str) -> bool:
    """A code of digits only where no digit adjoins it (not inside a timestamp or a port)."""
    if secret.isdigit():
        return re.search(rf"(?<!\d){secret}(?!\d)", line) is not None
    return secret in line


class _Collector(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.lines = lines
        self.setFormatter(logging.Formatter(PRODUCTION_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        # format() adds the exception and stack text, as the production handler writes them.
        self.lines.append(self.format(record))


@contextmanager
def captured_logs() -> Iterator[list[str]]:
    """Every log line written in the block, at DEBUG, from every logger."""
    lines: list[str] = []
    collector = _Collector(lines)
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    levels = {logger: logger.level for logger in loggers}
    attached = [logger for logger in loggers if logger is loggers[0] or not logger.propagate]
    disabled = {logger: logger.disabled for logger in loggers}
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
    for logger in attached:
        logger.addHandler(collector)
    previous_disable = logging.root.manager.disable
    logging.disable(logging.NOTSET)
    try:
        yield lines
    finally:
        logging.disable(previous_disable)
        for logger in attached:
            logger.removeHandler(collector)
        for logger, level in levels.items():
            logger.setLevel(level)
            logger.disabled = disabled[logger]

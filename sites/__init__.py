"""Donation sites and the staff who work there."""

from flask import Flask

from core.messages import register_messages
from sites import messages
from sites.routes import bp

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    """Sites' error texts."""
    register_messages(messages.MESSAGES)

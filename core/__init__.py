"""Shared machinery: configuration, extensions, errors, auth, crypto, time."""

from core.i18n import install_marshmallow_messages

# Before any schema is defined: fields take their messages from their class when created.
install_marshmallow_messages()

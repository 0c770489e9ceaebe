"""Shared machinery: configuration, extensions, errors, auth, crypto, time."""

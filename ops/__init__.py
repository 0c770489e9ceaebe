"""The servers the project starts itself, on loopback: PostgreSQL, Redis, a Twilio stand-in,
gunicorn, Celery, nginx, and the production set made of them all (`scripts/serve-production`).

The test suite, the benchmarks and the production set on one machine start the same servers the
same way; Debian's packages are installed when missing, as root (`ensure_program`).
"""

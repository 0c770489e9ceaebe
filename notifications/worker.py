"""Entry point of the Celery worker and beat: `celery -A notifications.worker worker`."""

from app import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]

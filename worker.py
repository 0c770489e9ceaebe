"""Entry point of the Celery worker and beat: `celery -A worker worker`.

It builds the app, so it lives beside `app.py`: no package imports the app.
"""

from app import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]

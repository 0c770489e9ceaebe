"""A donation site with a staff member logged in, for the certificate tests."""

from __future__ import annotations

import pytest

from tests.factories import make_site, make_staff, staff_token


@pytest.fixture
def desk(client):
    """(site, staff token) of a site and a member of its staff."""
    site = make_site()
    return site, staff_token(client, make_staff([site]))

"""Builders for the consoles' browser tests: a donation house with its nurse, donors registered
and enrolled through the API, the fake camera's video, and logging in through the page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from core import clock
from core.ids import make_din
from sites.models import Site
from tests.factories import bearer, make_site, make_staff, register_donor
from tests.factories.camera import scene, write_y4m
from tests.factories.faces import consent, enrol

PASSWORD = "correct-horse-1"


@dataclass
class Desk:
    """A donation house and a nurse (or an administrator) who serves it."""

    site: Site
    staff: Any

    @property
    def username(self) -> str:
        return self.staff.username


def desk(name: str = "武林献血屋", *, admin: bool = False, sites: int = 1) -> Desk:
    first = make_site(name=name)
    others = [make_site() for _ in range(sites - 1)]
    return Desk(first, make_staff([first, *others], admin=admin))


def donor(client: FlaskClient, sms: list, face: str | None = None, **fields: Any) -> dict:
    """A donor registered through the API (`register_donor`), with `face` enrolled after consent."""
    data = register_donor(client, sms, **fields)
    if face is not None:
        token = data["tokens"]["access_token"]
        assert consent(client, token).status_code == 201
        assert enrol(client, token, face).status_code == 201
    return data


def checkin_qr(client: FlaskClient, data: dict) -> bytes:
    """The donor's current check-in code as the app shows it: the API's PNG."""
    response = client.get(
        "/api/v1/me/checkin-code/qr.png", headers=bearer(data["tokens"]["access_token"])
    )
    assert response.status_code == 200, response.get_json()
    return response.data


def checkin_code(client: FlaskClient, data: dict) -> str:
    response = client.get("/api/v1/me/checkin-code", headers=bearer(data["tokens"]["access_token"]))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["code"]


def bag_label(site: Site, sequence: int = 4711) -> tuple[str, str]:
    """A bag's DIN: what its Code 128 label holds (`=` + body + flags) and the printed DIN."""
    din = make_din(site.facility_code, clock.local_today().year, sequence)
    return f"={din.body}{din.flags}", f"{din.body} {din.flags} {din.check}"


def camera_video(tmp_path: Path, **what: Any) -> Path:
    """The fake camera's video of `scene(**what)`: a face, a QR code and a bag label."""
    return write_y4m(scene(**what), tmp_path / "camera.y4m")


def log_in(page: Any, url: str, username: str, password: str = PASSWORD) -> None:
    """Log in at the staff console (`url` is the server's base address)."""
    page.goto(url + "/console/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def device_log_in(page: Any, url: str, path: str, device: dict[str, str]) -> None:
    """Log in at a device's page (`/gate/`, `/hospital/`) with its id and secret."""
    page.goto(url + path)
    page.get_by_label("设备编号").fill(device["client_id"])
    page.get_by_label("设备密钥").fill(device["client_secret"])
    page.get_by_role("button", name="登录").click()

"""The gate page in a real browser: a benefit code from the camera or a hand scanner, allow or
deny, large, with the masked name; a replay refused in the server's words; and the gate working
with no network from its service worker, its offline kit and its journal, which it uploads when
the network returns."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import zxingcpp
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from core.extensions import db
from core.models import Device
from rewards.models import BenefitUse
from tests.browser import accessibility_problems
from tests.factories.camera import scene, write_y4m
from tests.factories.console import device_log_in
from tests.factories.rewards import Scheme

pytestmark = pytest.mark.committed_db


class Gate:
    """A holder of Zhejiang's three frees and a transit operator's gate device."""

    def __init__(self, client: FlaskClient, sms: list) -> None:
        self.client = client
        self.scheme = Scheme(client, sms)
        _, self.data, self.holder, _ = self.scheme.holder()
        self.device = self.scheme.device(self.scheme.operator()["id"])

    def qr_png(self) -> bytes:
        """The donor's benefit code as the app shows it: a fresh QR image from the API."""
        response = self.client.get("/api/v1/me/benefit-code/qr.png", headers=self.holder)
        assert response.status_code == 200
        return response.data

    def camera(self, folder: Path) -> tuple[Path, str]:
        """A fake camera showing a fresh benefit code's QR, and the code it carries."""
        png = self.qr_png()
        [decoded] = zxingcpp.read_barcodes(
            Image.open(io.BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode
        )
        return write_y4m(scene(face=None, qr_png=png), folder / "benefit-code.y4m"), decoded.text

    def uses(self) -> list[tuple[str, str]]:
        """The uses the server recorded: (mode, the device's client id)."""
        db.session.rollback()  # see what the live server committed
        rows = db.session.execute(
            select(BenefitUse.mode, Device.client_id).join(
                Device, Device.id == BenefitUse.device_id
            )
        )
        return [tuple(row) for row in rows]

    def log_in(self, page, url: str) -> None:
        device_log_in(page, url, "/gate/", self.device)
        page.get_by_role("heading", name="扫描优待码").wait_for()


def verdict(page):
    return page.locator("#verdict-word")


def scan_by_hand(page, code: str) -> None:
    """What a hand scanner does: types the code into the focused field and presses Enter."""
    field = page.get_by_label("优待码（扫码枪在此输入）")
    field.fill(code)
    field.press("Enter")


def test_the_gate_allows_a_holders_code_from_the_camera_with_the_masked_name(
    app, client, sms, live_server, browser, shots, tmp_path
):
    gate = Gate(client, sms)
    camera, _ = gate.camera(tmp_path)
    page = browser(camera=camera)
    gate.log_in(page, live_server)

    verdict(page).filter(has_text="通行").wait_for()
    assert "allow" in verdict(page).get_attribute("class")
    assert page.locator("#verdict-name").inner_text() == "持有人：张*"
    assert page.locator("#verdict-reason").inner_text() == "核验通过，请通行。"
    shots.take(page, "allowed")
    assert accessibility_problems(page) == []
    assert gate.uses() == [("online", gate.device["client_id"])]

    verdict(page).wait_for(state="hidden", timeout=10_000)  # back to scanning by itself
    assert page.get_by_label("优待码（扫码枪在此输入）").evaluate(
        "e => e === document.activeElement"
    )
    shots.take(page, "scanning-again")


def test_a_code_scanned_again_is_denied_as_replayed_in_the_servers_words(
    app, client, sms, live_server, browser, shots, tmp_path
):
    gate = Gate(client, sms)
    camera, code = gate.camera(tmp_path)
    page = browser(camera=camera)
    gate.log_in(page, live_server)
    verdict(page).filter(has_text="通行").wait_for()
    # The code stays in front of the camera: the gate does not send it again by itself.
    verdict(page).wait_for(state="hidden", timeout=10_000)
    page.wait_for_timeout(1500)
    assert verdict(page).is_hidden()
    assert len(gate.uses()) == 1

    scan_by_hand(page, code)
    verdict(page).filter(has_text="拒绝").wait_for()
    shots.take(page, "replayed")
    assert "deny" in verdict(page).get_attribute("class")
    assert page.locator("#verdict-reason").inner_text() == "该优待码已使用，请刷新后重试。"
    assert page.locator("#verdict-name").is_hidden()
    assert accessibility_problems(page) == []
    assert len(gate.uses()) == 1


def test_the_gate_checks_codes_offline_and_uploads_each_use_once_when_back_online(
    app, client, sms, live_server, browser, shots
):
    gate = Gate(client, sms)
    code = gate.scheme.code(gate.holder)
    page = browser()
    gate.log_in(page, live_server)
    page.get_by_text("断网时可离线核验").wait_for()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    shots.take(page, "online-ready")

    page.context.set_offline(True)
    page.reload()  # the service worker serves the page; the session is still this tab's
    page.get_by_role("heading", name="扫描优待码").wait_for()
    page.locator("#connection").filter(has_text="离线").wait_for()
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    shots.take(page, "offline-reloaded")
    assert accessibility_problems(page) == []

    scan_by_hand(page, code)
    verdict(page).filter(has_text="通行").wait_for()
    assert page.locator("#verdict-mode").inner_text() == "离线核验（使用本闸机的离线核验包）。"
    page.get_by_text("有 1 条离线核验记录等待上传").wait_for()
    shots.take(page, "offline-allowed")
    assert accessibility_problems(page) == []

    page.reload()  # the journal outlives the page
    page.get_by_role("heading", name="扫描优待码").wait_for()
    scan_by_hand(page, code)
    verdict(page).filter(has_text="拒绝").wait_for()
    assert page.locator("#verdict-reason").inner_text() == "该优待码已使用，请刷新后重试。"
    shots.take(page, "offline-replayed")

    header, payload, signature = code.split(".")
    forged = f"{header}.{payload}.{signature[:-6]}{'A' * 6}"
    scan_by_hand(page, forged)  # a new code replaces the verdict on the screen
    page.locator("#verdict-reason").filter(has_text="无效的优待码。").wait_for()
    assert "deny" in verdict(page).get_attribute("class")
    shots.take(page, "offline-forged")
    page.get_by_role("button", name="继续扫码").click()  # back to scanning at a tap
    assert verdict(page).is_hidden()
    assert page.get_by_label("优待码（扫码枪在此输入）").evaluate(
        "e => e === document.activeElement"
    )

    page.get_by_role("button", name="退出登录").click()
    alert = page.get_by_role("alert")
    alert.filter(has_text="还有 1 条离线核验记录未上传").wait_for()
    assert page.get_by_role("heading", name="扫描优待码").is_visible()
    shots.take(page, "offline-logout-refused")
    assert gate.uses() == []

    page.context.set_offline(False)
    page.get_by_role("status").filter(has_text="离线核验记录已全部上传").wait_for()
    shots.take(page, "online-uploaded")
    assert gate.uses() == [("offline", gate.device["client_id"])]

    page.get_by_role("button", name="退出登录").click()
    page.get_by_role("heading", name="登录").wait_for()
    assert page.evaluate("sessionStorage.length") == 0
    assert (
        page.evaluate(
            """() => new Promise(resolve => { const open = indexedDB.open("gate");
             open.onsuccess = () => { const get = open.result.transaction("journal")
               .objectStore("journal").count(); get.onsuccess = () => resolve(get.result); }; })"""
        )
        == 0
    )


def test_on_a_phone_the_verdict_fits_the_screen_and_reads_large(
    app, client, sms, live_server, browser, shots, tmp_path
):
    gate = Gate(client, sms)
    camera, _ = gate.camera(tmp_path)
    page = browser(camera=camera)
    page.set_viewport_size({"width": 390, "height": 844})
    gate.log_in(page, live_server)
    verdict(page).filter(has_text="通行").wait_for()
    shots.take(page, "phone-allowed")
    box = verdict(page).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert box["y"] + box["height"] <= 844
    size = verdict(page).evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 48
    assert accessibility_problems(page) == []

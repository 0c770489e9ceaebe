"""The donation house's console in a real browser: check-in by the camera, a hand scanner or an ID
number, the face check with its blink, the donation with the bag's DIN read from its label, the
certificate's QR for the donor, refusals with what to do next, deferrals, an administrator's void,
face identification, and the page at phone size.

Face checks cost about a second of CPU each: two tests here check a face."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from certificate.models import Donation
from core import clock
from core.extensions import db
from tests.browser import accessibility_problems
from tests.factories import bearer, resident_id, staff_token
from tests.factories.appointments import open_day, quick_donor
from tests.factories.console import (
    bag_label,
    camera_video,
    checkin_code,
    checkin_qr,
    desk,
    donor,
    log_in,
)
from tests.factories.notifications import recent_local

pytestmark = pytest.mark.committed_db

CERTIFICATE_NUMBER = re.compile(r"^\d{4}-[0-9A-Z-]+$")


def donations_of(donor_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).where(Donation.donor_id == donor_id))


def at_the_visit(page, live_server, username, code: str) -> None:
    """Log in and check the donor in with `code`, typed as a hand scanner types it."""
    log_in(page, live_server, username)
    page.get_by_role("heading", name="今日本站").wait_for()
    field = page.get_by_label("签到码（扫码枪在此输入）")
    field.fill(code)
    field.press("Enter")
    page.get_by_role("heading", name="当前献血者").wait_for()


def test_the_whole_way_scan_face_check_donation_with_scanned_din_and_certificate_qr(
    app, client, sms, daytime, live_server, browser, shots, tmp_path
):
    here = desk()
    data = donor(client, sms, face="harington_1.jpg", name="李明")
    label, printed = bag_label(here.site)
    video = camera_video(
        tmp_path, face="harington_1.jpg", qr_png=checkin_qr(client, data), barcode=label
    )
    page = browser(camera=video)

    log_in(page, live_server, here.username)
    page.get_by_role("heading", name="今日本站").wait_for()
    assert "武林献血屋" in page.locator("#site-name").inner_text()
    shots.take(page, "today")
    assert accessibility_problems(page) == []

    page.get_by_role("button", name="扫描献血者签到码").click()
    page.get_by_role("heading", name="当前献血者").wait_for()
    assert page.locator("#visit-name").inner_text().startswith("李*")
    assert "*" in page.locator("#visit-id-number").inner_text()
    assert page.get_by_text("未预约（现场）").is_visible()
    shots.take(page, "visit")
    assert accessibility_problems(page) == []

    page.get_by_role("button", name="核验人脸").click()
    page.get_by_text("请眨眼").first.wait_for()
    shots.take(page, "blink-prompt")
    page.get_by_text("人脸核验通过：本人，活体。").wait_for(timeout=40_000)
    shots.take(page, "face-verified")

    page.get_by_role("button", name="登记献血").click()
    page.get_by_role("heading", name="献血登记").wait_for()
    assert page.get_by_label("献血类型").input_value() == "whole_blood"
    page.get_by_label("献血量（毫升）", exact=True).fill("400")
    page.get_by_role("button", name="扫描血袋标签").click()
    page.get_by_role("status").filter(has_text="已读取血袋标签").wait_for()
    assert page.get_by_label("血袋献血码（DIN）").input_value() == label
    shots.take(page, "donation-form")
    assert accessibility_problems(page) == []
    page.locator("#donation-form").get_by_role("button", name="登记献血").click()

    page.get_by_role("heading", name="献血证已签发").wait_for()
    number = page.locator("#certificate-number").inner_text()
    assert CERTIFICATE_NUMBER.match(number)
    assert page.locator("#certificate-din").inner_text() == printed
    qr = page.get_by_role("img", name=f"献血证 {number} 的二维码")
    page.wait_for_function("() => document.querySelector('#certificate-qr').naturalWidth > 0")
    shots.take(page, "certificate")
    assert accessibility_problems(page) == []
    (decoded,) = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(qr.screenshot())), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert decoded.text.endswith(f"/v/{number}")

    donor_id = data["donor"]["id"]
    assert donations_of(donor_id) == 1
    mobile = data["plain"]["mobile"]
    thanks = [m.body for m in sms if m.to.endswith(mobile) and "感谢您" in m.body]
    assert len(thanks) == 1 and number in thanks[0]


def test_an_expired_check_in_code_from_a_hand_scanner_is_refused_with_what_to_do_next(
    app, client, sms, daytime, live_server, browser, shots
):
    here = desk()
    code = checkin_code(client, donor(client, sms))
    page = browser()
    log_in(page, live_server, here.username)
    page.get_by_role("heading", name="今日本站").wait_for()
    with clock.travelled(timedelta(minutes=10)):
        field = page.get_by_label("签到码（扫码枪在此输入）")
        field.fill(code)
        field.press("Enter")
        alert = page.get_by_role("alert")
        alert.wait_for()
    shots.take(page, "refused")
    assert "签到码已过期" in alert.inner_text()
    assert "下一步：请献血者在小程序中刷新签到码，然后扫描新码。" in alert.inner_text()
    assert page.get_by_role("heading", name="今日本站").is_visible()
    assert accessibility_problems(page) == []


def check_in_by_id_number(page, live_server, username, id_number: str) -> None:
    log_in(page, live_server, username)
    page.get_by_role("heading", name="今日本站").wait_for()
    page.get_by_label("未用小程序的现场献血者：身份证号").first.fill(id_number)
    page.locator("#walk-in-form").get_by_role("button", name="签到").click()
    page.get_by_role("heading", name="当前献血者").wait_for()


def fill_donation(page, volume: str = "400", din: str | None = None) -> None:
    page.get_by_role("button", name="登记献血").click()
    page.get_by_role("heading", name="献血登记").wait_for()
    page.get_by_label("献血量（毫升）", exact=True).fill(volume)
    if din is not None:
        page.get_by_label("血袋献血码（DIN）").fill(din)


def press_record(page) -> None:
    page.locator("#donation-form").get_by_role("button", name="登记献血").click()


def test_a_typed_din_with_a_wrong_check_character_is_refused_and_the_form_stays_filled(
    app, client, sms, daytime, live_server, browser, shots
):
    here = desk()
    data = donor(client, sms)
    _, printed = bag_label(here.site)
    wrong = printed[:-1] + ("A" if printed[-1] != "A" else "B")
    page = browser()
    check_in_by_id_number(page, live_server, here.username, data["plain"]["id_number"])
    fill_donation(page, din=wrong)
    press_record(page)
    alert = page.get_by_role("alert")
    alert.wait_for()
    shots.take(page, "refused")
    assert "献血条码校验位不正确" in alert.inner_text()
    assert "下一步：号码输入或读取有误：请重新扫描血袋标签。" in alert.inner_text()
    assert page.get_by_label("血袋献血码（DIN）").input_value() == wrong
    assert page.get_by_label("血袋献血码（DIN）").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("献血量（毫升）", exact=True).input_value() == "400"
    assert accessibility_problems(page) == []
    assert donations_of(data["donor"]["id"]) == 0

    page.get_by_label("血袋献血码（DIN）").fill(printed)
    press_record(page)
    page.get_by_role("heading", name="献血证已签发").wait_for()
    assert donations_of(data["donor"]["id"]) == 1


def test_pressing_again_after_the_answer_was_lost_records_the_donation_once(
    app, client, sms, daytime, live_server, browser, shots
):
    here = desk()
    data = donor(client, sms)
    page = browser()
    check_in_by_id_number(page, live_server, here.username, data["plain"]["id_number"])
    fill_donation(page)
    keys = []

    def lose_the_first_answer(route):
        keys.append(route.request.headers["idempotency-key"])
        if len(keys) == 1:
            route.fetch()  # the server records it; the tablet never hears back
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/staff/donations", lose_the_first_answer)
    press_record(page)
    alert = page.get_by_role("alert")
    alert.wait_for()
    shots.take(page, "network-lost")
    assert "下一步：" in alert.inner_text()
    assert donations_of(data["donor"]["id"]) == 1

    press_record(page)
    page.get_by_role("heading", name="献血证已签发").wait_for()
    shots.take(page, "certificate-after-retry")
    assert len(keys) == 2 and keys[0] == keys[1]
    assert donations_of(data["donor"]["id"]) == 1


def test_a_deferral_by_reason_from_the_list_ends_the_visit(
    app, client, sms, daytime, live_server, browser, shots
):
    here = desk()
    data = donor(client, sms)
    page = browser()
    check_in_by_id_number(page, live_server, here.username, data["plain"]["id_number"])
    page.get_by_role("button", name="暂缓献血").click()
    page.get_by_role("heading", name="暂缓献血").wait_for()
    page.get_by_label("原因", exact=True).select_option(label="感冒、急性上呼吸道感染")
    shots.take(page, "deferral-form")
    assert accessibility_problems(page) == []
    page.get_by_role("button", name="登记暂缓").click()
    page.get_by_text("本次到场已结束。").wait_for()
    shots.take(page, "deferred")
    until = (clock.local_today() + timedelta(days=7)).isoformat()
    assert f"献血者自 {until} 起可再献血" in page.get_by_role("status").inner_text()
    assert not page.get_by_role("button", name="登记献血").is_visible()

    deferrals = client.get(
        "/api/v1/me/eligibility", headers=bearer(data["tokens"]["access_token"])
    ).get_json()
    whole = next(kind for kind in deferrals["kinds"] if kind["kind"] == "whole_blood")
    assert whole["allowed"] is False and whole["earliest_date"] == until


def test_an_administrator_voids_the_donation_shown_with_a_reason(
    app, client, sms, daytime, live_server, browser, shots
):
    here = desk(admin=True)
    data = donor(client, sms)
    page = browser()
    check_in_by_id_number(page, live_server, here.username, data["plain"]["id_number"])
    fill_donation(page)
    press_record(page)
    page.get_by_role("heading", name="献血证已签发").wait_for()
    page.get_by_role("heading", name="管理员：作废或更正此次献血").wait_for()
    page.get_by_label("作废原因").fill("录入了错误的献血者")
    shots.take(page, "void-form")
    assert accessibility_problems(page) == []
    page.get_by_role("button", name="作废此次献血").click()
    page.get_by_role("status").filter(has_text="此次献血已作废").wait_for()
    shots.take(page, "voided")
    assert page.locator("#certificate-status").inner_text() == "已作废"
    db.session.expire_all()
    donation = db.session.scalar(select(Donation).where(Donation.donor_id == data["donor"]["id"]))
    assert donation.status == "voided" and donation.void_reason == "录入了错误的献血者"


def test_a_nurse_does_not_see_the_administrators_void(
    app, client, sms, daytime, live_server, browser
):
    here = desk()
    data = donor(client, sms)
    page = browser()
    check_in_by_id_number(page, live_server, here.username, data["plain"]["id_number"])
    fill_donation(page)
    press_record(page)
    page.get_by_role("heading", name="献血证已签发").wait_for()
    assert not page.get_by_role("button", name="作废此次献血").is_visible()


def test_face_identification_finds_the_donor_booked_today_who_then_checks_in_by_id_number(
    app, client, sms, live_server, browser, shots, tmp_path
):
    here = desk()
    with clock.frozen_at(recent_local(8)):  # the day's 09:00 session is still ahead
        data = donor(
            client,
            sms,
            face="harington_1.jpg",
            name="王芳",
            id_number=resident_id(birth="19880305"),
        )
        slot = open_day(here.site, clock.local_today(), {"whole_blood": 5})[-1]
        booked = client.post(
            "/api/v1/me/appointments",
            json={"slot_id": slot.id},
            headers=bearer(data["tokens"]["access_token"]),
        )
        assert booked.status_code == 201, booked.get_json()
        page = browser(camera=camera_video(tmp_path, face="harington_1.jpg"))
        log_in(page, live_server, here.username)
        page.get_by_role("heading", name="今日本站").wait_for()
        page.get_by_role("button", name="未带身份证：刷脸查找献血者").click()
        page.get_by_role("heading", name="刷脸查找献血者").wait_for()
        shots.take(page, "identify")
        assert accessibility_problems(page) == []
        page.get_by_role("button", name="刷脸查找").click()
        page.get_by_text("找到：王*，1988 年出生。").wait_for(timeout=40_000)
        shots.take(page, "identified")
        assert accessibility_problems(page) == []
        page.locator("#identified-form").get_by_label("未用小程序的现场献血者：身份证号").fill(
            data["plain"]["id_number"]
        )
        page.locator("#identified-form").get_by_role("button", name="签到").click()
        page.get_by_role("heading", name="当前献血者").wait_for()
        assert page.locator("#visit-name").inner_text().startswith("王*")
        assert "全血" in page.locator("#visit-booking").inner_text()
        shots.take(page, "checked-in")


def test_today_shows_counts_a_site_picker_and_more_visits_on_request(
    app, client, sms, daytime, live_server, browser, shots
):
    here = desk(sites=2)
    nurse = staff_token(client, here.staff)
    for _ in range(21):
        walk_in, _ = quick_donor()
        response = client.post(
            "/api/v1/staff/checkins",
            json={"site_id": here.site.id, "id_number": walk_in.id_number},
            headers=bearer(nurse),
        )
        assert response.status_code == 201, response.get_json()
    page = browser()
    log_in(page, live_server, here.username)
    page.get_by_role("heading", name="今日本站").wait_for()
    assert page.get_by_label("献血点").is_visible()
    page.get_by_text("到场：21").wait_for()
    assert page.locator("#visits tr").count() == 20
    page.get_by_role("button", name="显示更多").first.click()
    page.wait_for_function("() => document.querySelectorAll('#visits tr').length === 21")
    assert page.get_by_role("button", name="显示更多").first.is_hidden()
    shots.take(page, "today-with-visits")
    assert accessibility_problems(page) == []

    page.get_by_label("献血点").select_option(index=1)
    page.get_by_text("到场：0").wait_for()
    assert page.locator("#visits").inner_text().strip() == "暂无。"


def test_at_phone_size_no_screen_scrolls_sideways_or_has_a_serious_accessibility_problem(
    app, client, sms, daytime, live_server, browser, shots
):
    here = desk()
    data = donor(client, sms)
    page = browser()
    page.set_viewport_size({"width": 390, "height": 844})
    sideways = "document.documentElement.scrollWidth > document.documentElement.clientWidth"

    log_in(page, live_server, here.username)
    page.get_by_role("heading", name="今日本站").wait_for()
    page.get_by_label("未用小程序的现场献血者：身份证号").first.fill(data["plain"]["id_number"])
    page.locator("#walk-in-form").get_by_role("button", name="签到").click()
    page.get_by_role("heading", name="当前献血者").wait_for()
    shots.take(page, "visit-phone")
    assert not page.evaluate(sideways)
    assert accessibility_problems(page) == []

    page.get_by_role("button", name="返回今日列表").click()
    page.get_by_text("到场：1").wait_for()
    shots.take(page, "today-phone")
    assert not page.evaluate(sideways)
    assert accessibility_problems(page) == []

    page.get_by_role("button", name="打开 张*").click()
    fill_donation(page)
    shots.take(page, "donation-phone")
    assert not page.evaluate(sideways)
    assert accessibility_problems(page) == []
    press_record(page)
    page.get_by_role("heading", name="献血证已签发").wait_for()
    page.wait_for_function("() => document.querySelector('#certificate-qr').naturalWidth > 0")
    shots.take(page, "certificate-phone")
    assert not page.evaluate(sideways)
    assert accessibility_problems(page) == []

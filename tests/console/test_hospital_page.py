"""The hospital cashier's page in a real browser: the patient looked up, the bill's reduction
before settling, the settlement and its printable receipt in yuan, a reversal with a reason,
refusals in the API's words with what to do next, and a settlement retried after a lost answer
that is settled once."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from blooduse import hospitals
from blooduse.models import REVERSED, BloodFeeReduction, BloodUseEntry
from core import clock
from core.extensions import db
from tests.browser import accessibility_problems
from tests.factories.console import device_log_in
from tests.factories.cycles import donations, whole_blood
from tests.factories.hospitals import make_hospital
from tests.factories.settlements import bill, local, patient_donor, relative_of, settle

pytestmark = pytest.mark.committed_db

TODAY = date(2026, 11, 10)


@pytest.fixture(autouse=True)
def on_a_weekday_morning():
    """10:00 Beijing time on a fixed day, for the server in this process: the donation's window
    and the transfusion date are counted from it."""
    with clock.frozen_at(local(TODAY)):
        yield


@pytest.fixture
def counter():
    """A Zhejiang hospital, a cashier's device of it (its credential), and a donor whose 200 ml
    of 2024 give 5x: 1000 ml free until 2029."""
    hospital = make_hospital()
    device, secret = hospitals.create_hospital_device(hospital, "住院收费处", None)
    db.session.commit()
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2024, 5, 1))
    return hospital, {"client_id": device.client_id, "client_secret": secret}, donor


def reductions() -> list[BloodFeeReduction]:
    db.session.expire_all()
    return list(db.session.scalars(select(BloodFeeReduction)))


def entries() -> int:
    return db.session.scalar(select(func.count()).select_from(BloodUseEntry))


def log_in(page, base: str, device: dict[str, str]) -> None:
    device_log_in(page, base, "/hospital/", device)
    page.get_by_role("heading", name="查询患者").wait_for()


def look_up(page, id_number: str) -> None:
    page.get_by_label("患者身份证号").fill(id_number)
    page.get_by_role("button", name="查询", exact=True).click()


def enter_bill(page, number: str, fee: str, components: list[tuple[str, str]]) -> None:
    page.get_by_role("button", name="录入账单").click()
    page.get_by_role("heading", name="账单").wait_for()
    page.locator("#bill-screen").get_by_label("账单号").fill(number)
    page.get_by_label("输血日期").fill(TODAY.isoformat())
    for n, (name, volume) in enumerate(components, start=1):
        if n > 1:
            page.get_by_role("button", name="添加成分").click()
        page.get_by_label(f"成分{n}", exact=True).fill(name)
        page.get_by_label(f"成分{n}的用量（毫升）").fill(volume)
    page.get_by_label("账单上的用血费用（元）").fill(fee)


def facts(page, screen: str) -> str:
    return page.locator(f"#{screen}").inner_text()


def test_the_cashier_sees_the_reduction_settles_and_prints_a_receipt_in_yuan(
    live_server, browser, shots, counter
):
    hospital, device, donor = counter
    page = browser()
    log_in(page, live_server, device)
    shots.take(page, "look-up")
    assert accessibility_problems(page) == []

    look_up(page, donor.id_number)
    page.get_by_role("heading", name="患者的用血权益").wait_for()
    assert "可享受：献血者本人" in page.locator("#patient-answer").inner_text()
    assert "1000毫升" in facts(page, "pools")
    assert donor.id_number not in page.content()  # the page shows what the API masked only
    shots.take(page, "entitlement")
    assert accessibility_problems(page) == []

    # 1234.50 yuan for 1200 ml, of which 1000 ml are covered: 1234.50 x 1000 / 1200, to the cent
    enter_bill(page, "ZY2026000101", "1234.50", [("悬浮红细胞", "800"), ("新鲜冰冻血浆", "400")])
    shots.take(page, "bill")
    assert accessibility_problems(page) == []
    page.get_by_role("button", name="查看减免金额").click()
    page.get_by_role("heading", name="结算前的减免").wait_for()
    quote = facts(page, "quote-facts")
    assert "减免金额\n1028.75元" in quote and "患者自付\n205.75元" in quote
    assert "免费用血量\n1000毫升" in quote
    assert reductions() == []  # the quote records nothing
    shots.take(page, "reduction-before-settling")
    assert accessibility_problems(page) == []

    page.get_by_role("button", name="结算账单").click()
    page.get_by_role("heading", name="免费用血减免回执").wait_for()
    receipt = facts(page, "receipt-facts")
    for shown in (
        f"医院\n{hospital.name}",
        "患者\n陈**，身份证号 " + donor.id_number[:6] + "*" * 8 + donor.id_number[-4:],
        "账单号\nZY2026000101",
        "输血量\n1200毫升",
        "免费用血量\n1000毫升",
        "用血费用\n1234.50元",
        "减免金额\n1028.75元",
        "患者自付\n205.75元",
        "适用地区规定\n浙江省",
        "结算日期\n2026-11-10（北京时间）",
    ):
        assert shown in receipt
    assert "新鲜冰冻血浆" in facts(page, "receipt-components")
    assert "账单已结算" in page.get_by_role("status").inner_text()
    shots.take(page, "receipt")
    assert accessibility_problems(page) == []

    (settled,) = reductions()
    assert (settled.fee_cents, settled.reduction_cents, settled.covered_ml) == (
        123450,
        102875,
        1000,
    )
    assert settled.hospital_id == hospital.id and settled.donor_id == donor.id


def test_the_cashier_reverses_a_relatives_bill_with_a_reason(live_server, browser, shots, counter):
    _, device, donor = counter
    spouse = relative_of(donor, "spouse")  # verified: 2x the 200 ml, 400 ml
    page = browser()
    log_in(page, live_server, device)
    look_up(page, spouse.id_number)
    page.get_by_role("heading", name="患者的用血权益").wait_for()
    assert "可享受：献血者亲属" in page.locator("#patient-answer").inner_text()
    assert "献血者陈**的配偶" in facts(page, "pools")
    enter_bill(page, "ZY2026000202", "480", [("悬浮红细胞", "400")])
    page.get_by_label("使用的权益").select_option(label="献血者陈**的配偶 · 400毫升")
    shots.take(page, "relatives-bill")
    page.get_by_role("button", name="查看减免金额").click()
    page.get_by_role("button", name="结算账单").click()
    page.get_by_role("heading", name="免费用血减免回执").wait_for()
    assert "使用的权益\n献血者陈**的配偶" in facts(page, "receipt-facts")
    assert "减免金额\n480.00元" in facts(page, "receipt-facts")

    page.get_by_role("button", name="冲销此账单").click()
    page.get_by_role("heading", name="冲销已结算的账单").wait_for()
    assert page.locator("#reverse-screen").get_by_label("账单号").input_value() == "ZY2026000202"
    page.get_by_label("原因（至少2个字）").fill("收费员录错患者")
    shots.take(page, "reason")
    assert accessibility_problems(page) == []
    page.get_by_role("button", name="冲销账单", exact=True).click()
    page.get_by_role("status").filter(has_text="账单已冲销").wait_for()
    receipt = facts(page, "receipt-facts")
    assert "状态\n已冲销" in receipt and "冲销原因\n收费员录错患者" in receipt
    assert "冲销时间\n2026-11-10 10:00 (UTC+08:00)" in receipt
    assert not page.get_by_role("button", name="冲销此账单").is_visible()
    shots.take(page, "reversed-receipt")
    assert accessibility_problems(page) == []

    (reversed_bill,) = reductions()
    assert reversed_bill.status == REVERSED
    assert reversed_bill.reverse_reason == "收费员录错患者"
    assert reversed_bill.family_link_id == spouse.id


def test_a_wrong_id_number_is_refused_in_the_apis_words_with_what_to_do_next(
    live_server, browser, shots, counter
):
    _, device, donor = counter
    wrong = donor.id_number[:-1] + ("0" if donor.id_number[-1] != "0" else "1")
    page = browser()
    log_in(page, live_server, device)
    look_up(page, wrong)
    alert = page.get_by_role("alert")
    alert.wait_for()
    shots.take(page, "refused")
    assert "校验位" in alert.inner_text()  # the API's field message
    assert "下一步：" in alert.inner_text()
    assert page.get_by_label("患者身份证号").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("患者身份证号").input_value() == wrong  # kept to correct
    assert accessibility_problems(page) == []


def test_a_bill_number_settled_before_is_refused_with_what_to_do_next(
    app, client, live_server, browser, shots, counter
):
    hospital, device, donor = counter
    token = client.post("/api/v1/auth/device-token", json=device).get_json()["access_token"]
    earlier = bill(donor.id_number, 400, bill_number="ZY2026000303")
    assert settle(client, {"Authorization": f"Bearer {token}"}, earlier).status_code == 201
    page = browser()
    log_in(page, live_server, device)
    look_up(page, donor.id_number)
    enter_bill(page, "ZY2026000303", "999.99", [("悬浮红细胞", "200")])
    page.get_by_role("button", name="查看减免金额").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    shots.take(page, "bill-number-taken")
    assert "该账单号已用于另一笔减免结算" in alert.inner_text()
    assert "下一步：请核对账单上的账单号" in alert.inner_text()
    assert (
        page.locator("#bill-screen").get_by_label("账单号").get_attribute("aria-invalid") == "true"
    )
    assert page.get_by_label("账单上的用血费用（元）").input_value() == "999.99"
    assert accessibility_problems(page) == []
    assert len(reductions()) == 1


def test_settling_again_after_the_answer_was_lost_settles_once(
    live_server, browser, shots, counter
):
    _, device, donor = counter
    page = browser()
    lost = []

    def lose_the_first_answer(route):
        if lost:
            route.continue_()
            return
        route.fetch()  # the server settles the bill ...
        lost.append(route.request.url)
        route.abort("connectionreset")  # ... and the answer never reaches the counter

    page.route("**/api/v1/hospital/settlements", lose_the_first_answer)
    log_in(page, live_server, device)
    look_up(page, donor.id_number)
    enter_bill(page, "ZY2026000404", "600", [("悬浮红细胞", "400")])
    page.get_by_role("button", name="查看减免金额").click()
    page.get_by_role("button", name="结算账单").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "无法连接服务器" in alert.inner_text() and "下一步：" in alert.inner_text()
    assert page.get_by_role("heading", name="结算前的减免").is_visible()  # the bill is kept
    assert len(reductions()) == 1  # it was settled; the counter does not know yet
    shots.take(page, "answer-lost")
    assert accessibility_problems(page) == []

    page.get_by_role("button", name="结算账单").click()
    page.get_by_role("heading", name="免费用血减免回执").wait_for()
    assert "减免金额\n600.00元" in facts(page, "receipt-facts")
    shots.take(page, "receipt-after-retry")
    assert lost
    assert len(reductions()) == 1 and entries() == 1


def test_on_a_phone_every_screen_is_accessible_and_the_print_shows_only_the_receipt(
    live_server, browser, shots, counter
):
    _, device, donor = counter
    page = browser()
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, device)
    assert accessibility_problems(page) == []
    look_up(page, donor.id_number)
    page.get_by_role("heading", name="患者的用血权益").wait_for()
    shots.take(page, "phone-entitlement")
    assert accessibility_problems(page) == []
    enter_bill(page, "ZY2026000505", "300", [("悬浮红细胞", "200")])
    shots.take(page, "phone-bill")
    assert accessibility_problems(page) == []
    page.get_by_role("button", name="查看减免金额").click()
    page.get_by_role("heading", name="结算前的减免").wait_for()
    shots.take(page, "phone-reduction")
    assert accessibility_problems(page) == []
    page.get_by_role("button", name="结算账单").click()
    page.get_by_role("heading", name="免费用血减免回执").wait_for()
    shots.take(page, "phone-receipt")
    assert accessibility_problems(page) == []
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing runs off the side of the phone

    page.emulate_media(media="print")
    shots.take(page, "print")
    assert page.get_by_role("heading", name="免费用血减免回执").is_visible()
    assert "减免金额\n300.00元" in facts(page, "receipt-facts")
    for hidden in ("打印回执", "冲销此账单", "下一位患者", "退出登录"):
        assert not page.get_by_role("button", name=hidden).is_visible()
    assert not page.locator("header").is_visible()
    assert not page.get_by_role("status").is_visible()


def test_the_months_bills_are_listed_with_their_totals_and_download_as_csv(
    app, client, live_server, browser, shots, counter
):
    _, device, donor = counter
    token = client.post("/api/v1/auth/device-token", json=device).get_json()["access_token"]
    cashier = {"Authorization": f"Bearer {token}"}
    for number in ("ZY2026000601", "ZY2026000602"):
        body = bill(donor.id_number, 200, fee_cents=25_050, bill_number=number)
        assert settle(client, cashier, body).status_code == 201
    page = browser()
    log_in(page, live_server, device)
    page.get_by_role("button", name="本院每月账单").click()
    page.get_by_label("月份").fill("2026-11")
    page.get_by_role("button", name="查看该月").click()
    page.locator("#month-bills tbody tr").nth(1).wait_for()
    table = page.locator("#month-bills").inner_text()
    assert "ZY2026000601" in table and "ZY2026000602" in table and "陈**" in table
    totals = facts(page, "month-totals")
    assert "仍有效的结算笔数\n2" in totals and "减免金额\n501.00元" in totals
    shots.take(page, "month")
    assert accessibility_problems(page) == []

    with page.expect_download() as downloading:
        page.get_by_role("button", name="下载本月CSV文件").click()
    download = downloading.value
    assert download.suggested_filename == "blood-fee-2026-11.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    assert "ZY2026000601" in text and "ZY2026000602" in text
    page.get_by_role("status").filter(has_text="CSV文件已下载").wait_for()

"""Public verification cannot be walked (issue 18 item 8): numbers are unguessable, the answer
shows the site as signed, old sequential numbers still verify, and each address is limited."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import jwt
import zxingcpp
from PIL import Image

from core import clock
from core.ids import check_character, is_sequential_certificate_number
from tests.factories import bearer, donor_record, make_site, make_staff, record, staff_token
from tests.factories.certificates import issued_before, sequential_number

JSON = {"Accept": "application/json"}
NEW_NUMBER = re.compile(r"[0-9]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}-[0-9A-Z]")


def issue(client, sms, site=None, times=1):
    """A donor with `times` certificates (spaced as the intervals allow): (donor data, numbers)."""
    site = site or make_site(name="武林献血屋")
    token = staff_token(client, make_staff([site]))
    _, data = donor_record(client, sms, name="张三丰")
    numbers = []
    for back in range(times - 1, -1, -1):
        with clock.travelled(-timedelta(days=200 * back)):
            response = record(client, token, site, data["plain"]["id_number"])
        assert response.status_code == 201, response.get_json()
        numbers.append(response.get_json()["certificate"]["number"])
    return data, numbers


def verify(client, path, address="10.1.1.1"):
    return client.get(path, headers=JSON, environ_base={"REMOTE_ADDR": address})


def test_new_numbers_share_nothing_a_walker_could_follow(client, sms):
    _, numbers = issue(client, sms, times=3)
    assert all(NEW_NUMBER.fullmatch(number) for number in numbers)
    assert len({number.split("-", 1)[1][:9] for number in numbers}) == 3
    # The walk that found every demo certificate: the year's first sequence numbers.
    for sequence in range(1, 15):
        response = verify(client, f"/v/{sequential_number(2026, sequence)}")
        assert response.status_code == 404, sequence
        assert response.get_json()["code"] == "certificate_unknown"


def test_a_new_number_verifies_with_its_masked_signed_facts(client, sms):
    _, [number] = issue(client, sms)
    body = verify(client, f"/v/{number}").get_json()
    assert body["status"] == "valid" and body["signature"] == "valid" and body["detailed"]
    assert (
        body["certificate"]["name"] == "张**" and body["certificate"]["site_name"] == "武林献血屋"
    )
    assert verify(client, f"/v/{number.lower()}").get_json()["certificate"]["number"] == number


def test_the_thank_you_link_ends_in_a_letter_or_digit(client, sms, daytime):
    data, [number] = issue(client, sms)
    [thanks] = [m.body for m in sms if number in m.body]
    link = re.search(r"https?://\S+", thanks).group(0)
    assert link.endswith(f"/v/{number}") and link[-1].isalnum()


def test_the_site_is_shown_as_signed_not_as_renamed_since(client, sms):
    site = make_site(name="武林献血屋")
    _, [number] = issue(client, sms, site=site)
    admin = bearer(staff_token(client, make_staff(admin=True)))
    renamed = client.patch(f"/api/v1/admin/sites/{site.id}", json={"name": "改名后"}, headers=admin)
    assert renamed.status_code == 200
    body = verify(client, f"/v/{number}").get_json()
    assert body["certificate"]["site_name"] == "武林献血屋"
    claims = jwt.decode(body["signed_token"], options={"verify_signature": False})
    assert claims["site_name"] == "武林献血屋"
    page = client.get(f"/v/{number}", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "武林献血屋" in page and "改名后" not in page


def test_an_old_sequential_number_still_verifies_but_shows_only_its_status(client, sms):
    data, [number] = issue(client, sms)
    old = issued_before(number, 2)
    assert is_sequential_certificate_number(old)
    body = verify(client, f"/v/{old}").get_json()
    assert body == {
        "status": "valid",
        "signature": "valid",
        "detailed": False,
        "kid": body["kid"],
        "signed_token": None,
        "certificate": {"number": old},
    }
    page = client.get(f"/v/{old}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "真实有效" in html and "张**" not in html and "旧版证书编号" in html


def test_an_old_numbers_qr_code_carries_the_key_to_its_details(client, sms):
    data, [number] = issue(client, sms)
    old = issued_before(number, 2)
    headers = bearer(data["tokens"]["access_token"])
    mine = client.get(f"/api/v1/me/certificates/{old}", headers=headers).get_json()
    png = client.get(f"/api/v1/certificates/{old}/qr.png", headers=headers)
    [decoded] = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(png.data)), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert decoded.text == mine["verify_url"] and "?k=" in decoded.text
    body = verify(client, decoded.text[decoded.text.index("/v/") :]).get_json()
    assert body["detailed"] and body["certificate"]["name"] == "张**"
    assert body["certificate"]["site_name"] is None  # not signed then: no name renamed since
    assert body["certificate"]["site"]  # the facility code was signed
    wrong = verify(client, f"/v/{old}?k={'0' * 20}").get_json()
    assert wrong["detailed"] is False and "name" not in wrong["certificate"]


def test_an_old_number_whose_star_the_sms_link_lost_still_verifies(client, sms):
    _, [number] = issue(client, sms)
    assert check_character("202600000005") == "*"
    old = issued_before(number, 5)
    assert old.endswith("-*")
    for cut in (old[:-1], old[:-2]):
        body = verify(client, f"/v/{cut}").get_json()
        assert body["status"] == "valid" and body["certificate"]["number"] == old


def test_a_messengers_tracking_parameters_do_not_break_the_link(client, sms):
    _, [number] = issue(client, sms)
    response = verify(client, f"/v/{number}?from=singlemessage&isappinstalled=0")
    assert response.status_code == 200 and response.get_json()["detailed"]


def test_unknown_numbers_are_limited_per_address(app, client, sms, monkeypatch):
    _, [number] = issue(client, sms)
    monkeypatch.setitem(app.config, "VERIFY_MISS_RATE_LIMIT", "3/hour")
    assert verify(client, f"/v/{number}").status_code == 200  # found: not counted
    misses = [verify(client, f"/v/2026-0000-0{i:03d}-X").status_code for i in range(3)]
    assert misses == [404, 404, 404]
    assert verify(client, f"/v/{number}").status_code == 429
    assert verify(client, f"/v/{number}", address="10.1.1.2").status_code == 200

"""Settlement throughput: 8 hospital cashiers settling transfusion bills at once (issue 15).

    .venv/bin/python -m bench.settlement [--seconds 10] [--donors 2000]

Under gunicorn (2 workers) on PostgreSQL, through the real HTTP stack: GET /healthz, then POST
/api/v1/hospital/settlements from 8 connections, each a cashier of its own Zhejiang hospital
(wrk, one thread per cashier), the same duration. Each request is a new bill (its own number)
for a patient drawn at random from the donors: half donors with Zhejiang's lifetime right (400
ml of whole blood), half with a 200 ml donation of 2024 (5x for 5 years, the limited pool drawn
under the donor's lock until it is used up, then refused `no_entitlement`, 422). Every
settlement writes the donor's SMS to the outbox (console backend). Prints both figures, their
ratio, and the CPU each request cost in gunicorn, PostgreSQL and wrk, which share the machine.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

from stdnum.cn import ric

from bench.harness import (
    app_env,
    cpu_use,
    gunicorn,
    listening_root,
    machine,
    migrate,
    postgres,
    show,
    show_cpu,
    wrk,
)

CASHIERS = 8


def _resident_id(number: int) -> str:
    """A valid ID number, distinct for each `number` (birth day and sequence vary)."""
    birth = date(1970, 1, 1).toordinal() + number // 900
    body = f"330102{date.fromordinal(birth):%Y%m%d}{number % 900 + 1:03d}"
    return body + ric.calc_check_digit(body + "0")


def prepare(database_url: str, donors: int) -> tuple[list[str], list[str]]:
    """Donors with donations, 8 hospitals each with a cashier's device: the patients' ID
    numbers and the cashiers' access tokens."""
    os.environ.update(app_env(database_url))
    from app import create_app
    from blooduse import hospitals
    from certificate.models import RECORDED, VALID, Donation
    from core import auth
    from core.extensions import db
    from donors.models import Donor
    from donors.services import id_number_hash, mobile_hash

    app = create_app()
    with app.app_context():
        numbers = []
        rows = []
        for index in range(donors):
            number = _resident_id(index)
            e164 = f"+86139{index:08d}"
            donor = Donor(
                name="测试" + chr(0x4E00 + index % 2000),
                id_number=number,
                id_number_hash=id_number_hash(number),
                mobile=e164,
                mobile_hash=mobile_hash(e164),
                birth_date=date(1970, 1, 1),
                sex="male",
                region="zhejiang",
                history_claimed_at=datetime.now(UTC),
            )
            rows.append(donor)
            numbers.append(number)
        db.session.add_all(rows)
        db.session.flush()
        for index, donor in enumerate(rows):
            lifetime = index % 2 == 0
            given = date(2019, 3, 1) if lifetime else date(2024, 3, 1)
            db.session.add(
                Donation(
                    donor_id=donor.id,
                    facility_code="W3301",
                    kind="whole_blood",
                    volume_ml=400 if lifetime else 200,
                    collected_at=datetime(given.year, given.month, given.day, 2, tzinfo=UTC),
                    donation_date=given,
                    din=f"W3301{given.year % 100:02d}{index:06d}",
                    din_check="X",
                    status=VALID,
                    source=RECORDED,
                    region="zhejiang",
                )
            )
        tokens = []
        for index in range(CASHIERS):
            hospital = hospitals.create_hospital(
                {"code": f"BENCH{index:02d}", "name": f"测试医院{index}", "region": "zhejiang"},
                None,
            )
            device, secret = hospitals.create_hospital_device(hospital, "住院收费处", None)
            db.session.commit()
            tokens.append(auth.authenticate_device(device.client_id, secret)["access_token"])
        db.session.commit()
        db.engine.dispose()
    return numbers, tokens


def settle_script(patients_path: str, tokens: list[str], today: str) -> str:
    """wrk Lua: thread n is cashier n (its own token); each request a new bill number for a
    patient drawn at random."""
    token_list = ", ".join(f'"{token}"' for token in tokens)
    return f"""
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  tokens = {{{token_list}}}
  token = tokens[tid + 1]
  patients = {{}}
  for line in io.lines("{patients_path}") do patients[#patients + 1] = line end
  math.randomseed(tid * 7919 + 1)
  counter = 0
end
request = function()
  counter = counter + 1
  local patient = patients[math.random(#patients)]
  local body = '{{"bill_number":"B' .. tid .. '-' .. counter .. '","id_number":"' .. patient
    .. '","transfused_on":"{today}","components":[{{"component":"悬浮红细胞","volume_ml":300}}],'
    .. '"fee_cents":36000}}'
  return wrk.format("POST", "/api/v1/hospital/settlements",
    {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}}, body)
end
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--donors", type=int, default=2000)
    args = parser.parse_args()
    from core import clock

    print(f"machine: {machine()}")
    with postgres() as url:
        migrate(url)
        numbers, tokens = prepare(url, args.donors)
        print(f"patients: {len(numbers)} donors (half lifetime, half 1000 ml for 5 years)")
        random.shuffle(numbers)
        with tempfile.NamedTemporaryFile("w", suffix=".patients", delete=False) as handle:
            handle.write("\n".join(numbers) + "\n")
            patients = handle.name
        try:
            # The cashiers' per-device limit (240 an hour) would stop the load in seconds.
            with gunicorn(url, workers=2, HOSPITAL_LOOKUP_LIMIT_PER_DEVICE="1000000/hour") as base:
                load = {"seconds": args.seconds, "connections": CASHIERS, "threads": CASHIERS}
                servers = {
                    "gunicorn": listening_root(urlsplit(base).port),
                    "postgresql": listening_root(urlsplit(url).port),
                }
                wrk(base + "/healthz", seconds=2, connections=4)  # warm-up
                with cpu_use(**servers) as used:
                    health = wrk(base + "/healthz", **load)
                show("GET /healthz (8 connections)", health)
                show_cpu(used, health["requests"])
                today = clock.local_today().isoformat()
                with cpu_use(**servers) as used:
                    settled = wrk(
                        base + "/api/v1/hospital/settlements",
                        script=settle_script(patients, tokens, today),
                        **load,
                    )
                show("POST /api/v1/hospital/settlements (8 cashiers)", settled)
                show_cpu(used, settled["requests"])
                print("  non-2xx are limited pools used up (422 no_entitlement), by design")
                print(f"ratio settlements/healthz: {settled['rps'] / health['rps']:.3f}")
        finally:
            Path(patients).unlink(missing_ok=True)
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()

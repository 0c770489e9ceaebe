"""Builders for the three frees: donation histories, holders, awards, operators and gates."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient

from core import clock
from tests.factories import bearer, donor_record, make_site, make_staff, record, staff_token

# An award conferred for a history this service does not hold: the record cannot support it, so
# the grant carries a reason (issue 14 item 2: refused without one, 422).
NOT_ON_RECORD = "历史献血记录尚未导入，依据血站名单登记"

WHOLE_BLOOD_STEP = timedelta(days=190)  # more than the six months between whole-blood donations
PLATELET_STEP = timedelta(days=15)  # more than the two weeks between platelet donations


class Scheme:
    """A Zhejiang site with its staff and an administrator, ready to record and run the scheme."""

    def __init__(self, client: FlaskClient, sms: list, region: str = "zhejiang") -> None:
        self.client, self.sms = client, sms
        self.site = make_site(region=region)
        self.staff = staff_token(client, make_staff([self.site]))
        self.admin = bearer(staff_token(client, make_staff(admin=True)))

    def donor(self, **overrides: Any) -> tuple[Any, dict[str, Any], dict[str, str]]:
        """A registered donor: (row, registration data, the donor's auth headers)."""
        donor, data = donor_record(self.client, self.sms, **overrides)
        return donor, data, bearer(data["tokens"]["access_token"])

    def give(
        self,
        data: dict[str, Any],
        times: int,
        *,
        kind: str = "whole_blood",
        volume_ml: int | None = 400,
        units: int | None = None,
        site: Any = None,
        volumes: list[int] | None = None,
    ) -> list[dict[str, Any]]:
        """`times` donations, spaced as the intervals allow, the last one today.

        `volumes` gives each donation's own volume (oldest first) instead of `volume_ml`.
        """
        step = WHOLE_BLOOD_STEP if kind == "whole_blood" else PLATELET_STEP
        volumes = volumes or [volume_ml] * times
        assert len(volumes) == times
        recorded = []
        for back, volume in zip(range(times - 1, -1, -1), volumes, strict=True):
            with clock.travelled(-step * back):
                response = record(
                    self.client,
                    self.staff,
                    site or self.site,
                    data["plain"]["id_number"],
                    kind=kind,
                    volume_ml=volume,
                    units=units,
                )
            assert response.status_code == 201, response.get_json()
            recorded.append(response.get_json())
        return recorded

    def apply(self, headers: dict[str, str], region: str | None = None) -> Any:
        body = {"region": region} if region else {}
        return self.client.post("/api/v1/me/benefit-applications", json=body, headers=headers)

    def holder(self, **overrides: Any) -> tuple[Any, dict[str, Any], dict[str, str], list]:
        """A donor holding Zhejiang's three frees by twenty counted donations, on application."""
        donor, data, headers = self.donor(**overrides)
        donations = self.give(data, 10)  # 10 x 400 ml = 20 counts
        response = self.apply(headers)
        assert response.status_code == 201, response.get_json()
        return donor, data, headers, donations

    def award(self, donor_id: int, **overrides: Any) -> Any:
        body = {
            "award": "bronze",
            "region": "zhejiang",
            "period": "2022-2023",
            "decision": "国卫医急发〔2025〕11号",
            "awarded_on": "2025-08-01",
            **overrides,
        }
        return self.client.post(
            f"/api/v1/admin/donors/{donor_id}/awards", json=body, headers=self.admin
        )

    def operator(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "name": "杭州公交集团",
            "category": "transit",
            "region": "zhejiang",
            "benefit_kind": "urban_public_transport",
            **overrides,
        }
        response = self.client.post("/api/v1/admin/gate-operators", json=body, headers=self.admin)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def device(self, operator_id: int, name: str = "B1路闸机") -> dict[str, Any]:
        response = self.client.post(
            f"/api/v1/admin/gate-operators/{operator_id}/devices",
            json={"name": name, "location": "武林广场站"},
            headers=self.admin,
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def device_login(self, device: dict[str, Any]) -> Any:
        return self.client.post(
            "/api/v1/auth/device-token",
            json={"client_id": device["client_id"], "client_secret": device["client_secret"]},
        )

    def gate(self, **operator_overrides: Any) -> tuple[dict[str, Any], dict[str, str]]:
        """An operator's gate device, logged in: (device, its auth headers)."""
        device = self.device(self.operator(**operator_overrides)["id"])
        response = self.device_login(device)
        assert response.status_code == 200, response.get_json()
        return device, bearer(response.get_json()["access_token"])

    def code(self, headers: dict[str, str], **query: str) -> str:
        response = self.client.get("/api/v1/me/benefit-code", query_string=query, headers=headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["code"]

    def verify(self, gate_headers: dict[str, str], code: str) -> dict[str, Any]:
        response = self.client.post(
            "/api/v1/gate/verify", json={"code": code}, headers=gate_headers
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()

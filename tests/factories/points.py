"""Builders for points and the souvenir store: grants, items, redemptions."""

from __future__ import annotations

import itertools
from typing import Any

from tests.factories.rewards import Scheme

_keys = itertools.count(1)


class Store(Scheme):
    """A Zhejiang site with staff and an administrator, who keep a souvenir store."""

    def grant(self, donor_id: int, points: int, reason: str = "测试发放") -> Any:
        response = self.client.post(
            f"/api/v1/admin/donors/{donor_id}/points-adjustments",
            json={"points": points, "reason": reason},
            headers=self.admin,
        )
        return response

    def item(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "name": "献血纪念徽章",
            "picture_url": "https://example.cn/badge.png",
            "price": 100,
            "stock": 10,
            "fulfilment": "pickup",
            "site_ids": [self.site.id],
            **overrides,
        }
        response = self.client.post("/api/v1/admin/store/items", json=body, headers=self.admin)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def redeem(self, headers: dict[str, str], item: dict[str, Any], **overrides: Any) -> Any:
        key = overrides.pop("key", None) or f"redeem-{next(_keys):08d}"
        body = {"item_id": item["id"], "quantity": 1, **overrides}
        if item["fulfilment"] == "pickup":
            body.setdefault("site_id", self.site.id)
        return self.client.post(
            "/api/v1/me/redemptions", json=body, headers={**headers, "Idempotency-Key": key}
        )

    def balance(self, headers: dict[str, str]) -> dict[str, Any]:
        response = self.client.get("/api/v1/me/points", headers=headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def ledger(self, headers: dict[str, str]) -> list[dict[str, Any]]:
        response = self.client.get("/api/v1/me/points/ledger?per_page=100", headers=headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]

"""Routes for sites (public and admin) and staff login."""

from __future__ import annotations

from typing import Any

from flask import request

from core.auth import ADMIN, STAFF, caller, roles_required
from core.docs import answers
from core.extensions import db
from core.http import Blueprint
from core.pagination import paginate
from core.schemas import TokenPairSchema
from sites import schemas, services

bp = Blueprint("sites", __name__, description="Donation sites and staff")


@bp.get("/sites")
@bp.arguments(schemas.SiteQuerySchema, location="query")
@bp.response(200, schemas.SitePageSchema)
def list_sites(query: dict[str, Any]):
    """Where to donate: active sites, filtered by city and kind."""
    select = services.sites_query(city=query.get("city"), kind=query.get("kind"))
    return paginate(select, query["page"], query["per_page"])


@bp.get("/sites/<int:site_id>")
@bp.response(200, schemas.SiteSchema)
def read_site(site_id: int):
    """One active site."""
    return services.get_site(site_id)


@bp.post("/auth/staff-login")
@bp.arguments(schemas.StaffLoginSchema)
@bp.response(200, TokenPairSchema)
@answers(401, 403, 429)
def staff_login(body: dict[str, Any]):
    """Tokens for site staff and administrators (username and password)."""
    tokens = services.staff_login(body["username"], body["password"], request.remote_addr or "")
    db.session.commit()
    return tokens


@bp.get("/staff/me")
@roles_required(STAFF, ADMIN)
@bp.response(200, schemas.StaffProfileSchema)
def staff_profile():
    """The staff member and the sites they serve."""
    return services.current_staff(caller())


@bp.patch("/staff/sites/<int:site_id>/notice")
@roles_required(STAFF, ADMIN)
@bp.arguments(schemas.NoticeSchema)
@bp.response(200, schemas.SiteSchema)
def update_notice(body: dict[str, Any], site_id: int):
    """Post a notice for donors at a site the caller serves (closed early, bus moved…)."""
    site = services.require_site(caller(), site_id)
    services.update_notice(site, body["notice"], caller())
    db.session.commit()
    return site


@bp.get("/admin/sites")
@roles_required(ADMIN)
@bp.arguments(schemas.AdminSiteQuerySchema, location="query")
@bp.response(200, schemas.SiteAdminPageSchema)
def admin_list_sites(query: dict[str, Any]):
    """All sites, including inactive ones."""
    select = services.sites_query(
        city=query.get("city"), kind=query.get("kind"), include_inactive=query["include_inactive"]
    )
    return paginate(select, query["page"], query["per_page"])


@bp.post("/admin/sites")
@roles_required(ADMIN)
@bp.arguments(schemas.SiteWriteSchema)
@bp.response(201, schemas.SiteAdminSchema)
def admin_create_site(body: dict[str, Any]):
    """Register a site under its ISBT 128 facility code."""
    site = services.create_site(body, caller())
    db.session.commit()
    return site


@bp.patch("/admin/sites/<int:site_id>")
@roles_required(ADMIN)
@bp.arguments(schemas.SiteUpdateSchema)
@bp.response(200, schemas.SiteAdminSchema)
def admin_update_site(body: dict[str, Any], site_id: int):
    """Change a site's details, or deactivate it."""
    site = services.update_site(services.get_site(site_id, include_inactive=True), body, caller())
    db.session.commit()
    return site


@bp.post("/admin/staff/<int:staff_id>/unlock")
@roles_required(ADMIN)
@bp.arguments(schemas.StaffUnlockSchema)
@bp.response(200, schemas.StaffUnlockedSchema)
def admin_unlock_staff(body: dict[str, Any], staff_id: int):
    """End a staff account's login lock and forget its failed logins (audited)."""
    user = services.get_staff(staff_id)
    was_locked = services.unlock_staff(
        user, ("staff", caller().principal_id), reason=body["reason"]
    )
    db.session.commit()
    return {"id": user.id, "username": user.username, "was_locked": was_locked}

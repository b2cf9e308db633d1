"""The widget's settings: tenant admins edit them; the widget on a visitor's page reads the public
part at page load (before any socket opens, so proactive invitations cost the center nothing)."""

from __future__ import annotations


import sqlalchemy as sa
from aiohttp import web
from pydantic import BaseModel, Field

from gateway.api.errors import ApiError, not_found
from gateway.api.registry import ApiRegistry, Call
from gateway.audit import audit
from gateway.auth.principal import ADMIN, SUPERVISE
from gateway.core.tenant_settings import read_settings, write_section
from gateway.db import schema as t
from gateway.events.bus import record_event
from gateway.keys import CHANNELS, CONFIG, DB, EVENTS
from gateway.tenancy import Branding
from gateway.widget.settings import WidgetSettings

# Short, so a tenant's change reaches visitors' next page view within a minute.
CONFIG_MAX_AGE = 60


class WidgetConfigQuery(BaseModel):
    key: str = Field(min_length=1, max_length=100)


def register(api: ApiRegistry) -> None:
    @api.route("GET", "/tenants/{tenant_id}/widget/settings", summary="How the tenant's widget looks and what it asks",
               tag="widget", response=WidgetSettings, errors=(404,))
    async def get_widget_settings(call: Call) -> WidgetSettings:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, SUPERVISE, "tenant")
        async with call.app[DB].connect() as conn:
            return WidgetSettings.of(await read_settings(conn, tenant_id))

    @api.route("PUT", "/tenants/{tenant_id}/widget/settings", summary="Set the tenant's widget settings",
               tag="widget", body=WidgetSettings, response=WidgetSettings, errors=(404, 422))
    async def put_widget_settings(call: Call) -> WidgetSettings:
        tenant_id = call.path("tenant_id")
        call.user.require(tenant_id, ADMIN, "tenant")
        body: WidgetSettings = call.body
        stored = body.model_dump(mode="json")
        async with call.app[DB].begin() as conn:
            if wanted := body.queue_ids():
                known = set((await conn.execute(sa.select(t.queues.c.id).where(
                    t.queues.c.tenant_id == tenant_id, t.queues.c.id.in_(wanted)))).scalars())
                if missing := sorted(wanted - known):
                    raise ApiError(422, "unknown_queue", f"no queue {', '.join(missing)} in this tenant")
            if not await write_section(conn, tenant_id, "widget", stored):
                raise not_found("tenant")
            await audit(conn, "widget.updated", principal=call.user, tenant_id=tenant_id, target_type="tenant", target_id=tenant_id)
            event = await record_event(conn, "tenant.widget_updated", tenant_id, {"tenant_id": tenant_id}, actor=call.user.actor)
        await call.app[EVENTS].publish(event)
        return body

    @api.route("GET", "/widget/config", summary="The widget's public settings, for the page it runs on (by widget key)",
               tag="widget", query=WidgetConfigQuery, auth="public", errors=(404,))
    async def widget_config(call: Call) -> web.StreamResponse:
        # Everything here is public (the widget key is in every page's source): any origin may read
        # it. Allowed origins are enforced where it matters, when the visitor's socket connects.
        headers = {"Access-Control-Allow-Origin": "*", "Cache-Control": f"public, max-age={CONFIG_MAX_AGE}"}
        async with call.app[DB].connect() as conn:
            tenant = (await conn.execute(sa.select(t.tenants.c.id, t.tenants.c.slug, t.tenants.c.settings).where(
                t.tenants.c.widget_key == call.query.key, t.tenants.c.status == "active"))).first()
        if tenant is None:
            raise ApiError(404, "unknown_widget", "no active tenant has this widget key", headers=headers)
        config = WidgetSettings.of(tenant.settings).public_config(call.app[CONFIG].uploads)
        config["logo_url"] = Branding.model_validate((tenant.settings or {}).get("branding") or {}).logo_url  # https or ""
        # Don't offer what can't be had: a transcript needs the center's mail, a call a channel
        # that carries calls for this tenant.
        features = config["features"]
        features["transcript"] = features["transcript"] and call.app[CONFIG].mail.enabled
        offered = call.app[CHANNELS].widget_features(tenant.slug)
        features["calls"] = features["calls"] and offered.get("calls", False)
        return web.json_response(config, headers=headers)

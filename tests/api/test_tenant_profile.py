"""A business's profile: the operator opens it with its hours and branding and is shown its widget
secret once; its admin changes hours and branding; agents who serve it see its colour."""

from __future__ import annotations

from tests.helpers import Api
from tests.realtime.support import add_member

HOURS = {"timezone": "Europe/Berlin", "weekly": {"mon": [["09:00", "17:00"]]}, "closed_dates": ["2026-12-25"]}


async def test_a_business_opens_with_hours_and_branding_and_its_secret_shown_once(client, operator: Api):
    made = await operator.post("/api/v1/tenants", expect=201, json={
        "slug": "acme", "name": "Acme", "business_hours": HOURS, "branding": {"color": "#aa3300", "logo_url": "https://acme.example/logo.png"}})
    assert len(made["widget_secret"]) >= 32
    assert made["business_hours"] == HOURS and made["branding"] == {"color": "#aa3300", "logo_url": "https://acme.example/logo.png"}
    again = await operator.get(f"/api/v1/tenants/{made['id']}")
    assert "widget_secret" not in again and again["business_hours"] == HOURS
    widget = await operator.get(f"/api/v1/widget/config?key={made['widget_key']}")
    assert widget["logo_url"] == "https://acme.example/logo.png"  # the widget's header shows it

    admin = await add_member(client, operator, made["id"], "boss@acme.example", "tenant_admin")
    changed = await admin.patch(f"/api/v1/tenants/{made['id']}", json={"branding": {"color": "#0055aa"}})
    assert changed["branding"] == {"color": "#0055aa", "logo_url": "https://acme.example/logo.png"}  # what wasn't sent stays
    assert changed["business_hours"] == HOURS
    cleared = await admin.patch(f"/api/v1/tenants/{made['id']}", json={"branding": {"logo_url": ""}})
    assert cleared["branding"] == {"color": "#0055aa", "logo_url": ""}
    assert (await admin.patch(f"/api/v1/tenants/{made['id']}", json={"business_hours": None}))["business_hours"] is None
    for bad in ({"branding": {"color": "blue"}}, {"branding": {"logo_url": "http://acme.example/logo.png"}}, {"branding": None},
                {"business_hours": {"timezone": "Mars/Olympus"}}):
        await admin.patch(f"/api/v1/tenants/{made['id']}", json=bad, expect=422)
    assert (await admin.get(f"/api/v1/tenants/{made['id']}"))["branding"]["color"] == "#0055aa"

    # Its agents see its colour next to its name, to tell its work from other businesses'.
    agent = await add_member(client, operator, made["id"], "sam@acme.example", "agent")
    assert [(m["tenant_name"], m["tenant_color"]) for m in agent.me["memberships"]] == [("Acme", "#0055aa")]

"""Contacts: search, edit, merge and the cross-channel history an agent sees on a screen pop."""

from __future__ import annotations

from tests.api.test_conversations import customer_writes
from tests.helpers import Api


async def test_one_customer_across_channels_has_one_history(agent: Api):
    app, tid = agent.client.app, agent.tenant_id()
    chat = await customer_writes(app, tid, "Ann@Example.COM", "chat", "hi from chat")
    mail = await customer_writes(app, tid, "ann@example.com", "email", "hi by mail")
    contact_id = (await agent.get(f"/api/v1/conversations/{chat}"))["contact"]["id"]
    assert (await agent.get(f"/api/v1/conversations/{mail}"))["contact"]["id"] == contact_id
    history = await agent.get(f"/api/v1/contacts/{contact_id}/conversations")
    assert [(c["id"], c["channel"]) for c in history["items"]] == [(mail, "email"), (chat, "chat")]


async def test_search_by_name_or_identity(agent: Api):
    tid = agent.tenant_id()
    await agent.post("/api/v1/contacts", expect=201, json={
        "tenant_id": tid, "name": "Zoë Lin", "identities": [{"kind": "phone", "value": "+44 20 7946 0958"}]})
    await agent.post("/api/v1/contacts", expect=201, json={"tenant_id": tid, "name": "Bob"})
    assert [c["name"] for c in (await agent.get("/api/v1/contacts?q=zo"))["items"]] == ["Zoë Lin"]
    found = (await agent.get("/api/v1/contacts?q=442079"))["items"]
    assert [c["name"] for c in found] == ["Zoë Lin"]
    assert found[0]["identities"] == [{"id": found[0]["identities"][0]["id"], "kind": "phone", "value": "+442079460958"}]


async def test_edit_and_identity_conflicts(agent: Api):
    tid = agent.tenant_id()
    ann = await agent.post("/api/v1/contacts", expect=201, json={
        "tenant_id": tid, "name": "Ann", "identities": [{"kind": "email", "value": "ann@x.example"}]})
    bob = await agent.post("/api/v1/contacts", expect=201, json={"tenant_id": tid, "name": "Bob"})
    edited = await agent.patch(f"/api/v1/contacts/{bob['id']}", json={
        "name": "Bob Smith", "vip_tier": 2, "attributes": {"plan": "gold"}, "add_identities": [{"kind": "phone", "value": "+1 415 555 2671"}]})
    assert (edited["name"], edited["vip_tier"], edited["attributes"]) == ("Bob Smith", 2, {"plan": "gold"})
    assert [i["value"] for i in edited["identities"]] == ["+14155552671"]
    resp = await agent.request("PATCH", f"/api/v1/contacts/{bob['id']}", json={"add_identities": [{"kind": "email", "value": "ANN@x.example"}]})
    body = await resp.json()
    assert resp.status == 409 and body["code"] == "identity_taken" and body["details"]["contact_id"] == ann["id"]
    resp = await agent.request("PATCH", f"/api/v1/contacts/{bob['id']}", json={"add_identities": [{"kind": "phone", "value": "not a number"}]})
    assert resp.status == 422 and (await resp.json())["code"] == "invalid_identity"
    # A failed edit changes nothing.
    assert (await agent.get(f"/api/v1/contacts/{bob['id']}"))["identities"] == edited["identities"]


async def test_merge_brings_identities_and_history_together(agent: Api):
    app, tid = agent.client.app, agent.tenant_id()
    chat = await customer_writes(app, tid, "ann@home.example", "chat", "hi")
    mail = await customer_writes(app, tid, "ann@work.example", "email", "hello")
    keep = (await agent.get(f"/api/v1/conversations/{chat}"))["contact"]["id"]
    other = (await agent.get(f"/api/v1/conversations/{mail}"))["contact"]["id"]
    await agent.patch(f"/api/v1/contacts/{other}", json={"attributes": {"company": "Acme"}, "vip_tier": 3})
    merged = await agent.post(f"/api/v1/contacts/{keep}/merge", json={"other_contact_id": other})
    assert sorted(i["value"] for i in merged["identities"]) == ["ann@home.example", "ann@work.example"]
    assert merged["attributes"] == {"company": "Acme"} and merged["vip_tier"] == 3
    history = await agent.get(f"/api/v1/contacts/{keep}/conversations")
    assert {c["id"] for c in history["items"]} == {chat, mail}
    assert (await agent.get(f"/api/v1/contacts/{other}"))["merged_into_id"] == keep
    assert [c["id"] for c in (await agent.get("/api/v1/contacts?q=ann"))["items"]] == [keep]
    # New mail from the merged address lands on the kept contact.
    later = await customer_writes(app, tid, "ann@work.example", "email", "again")
    assert (await agent.get(f"/api/v1/conversations/{later}"))["contact"]["id"] == keep
    resp = await agent.request("POST", f"/api/v1/contacts/{keep}/merge", json={"other_contact_id": other})
    assert resp.status == 409
    resp = await agent.request("POST", f"/api/v1/contacts/{keep}/merge", json={"other_contact_id": keep})
    assert resp.status == 409

"""A tenant's phone numbers: the operator hands the center's numbers out to businesses and takes
them back; a business's admin names each and picks its queue; nobody gets another's number."""

from __future__ import annotations

from tests.helpers import Api
from tests.realtime.support import add_member

SALES_LINE = "+49 30 777 888"


async def test_the_operator_hands_out_a_number_and_the_admin_routes_it(client, operator: Api, agent: Api):
    tid = agent.tenant_id()
    url = f"/api/v1/tenants/{tid}/phone-numbers"
    admin = await add_member(client, operator, tid, "numbers-admin@demo.example", "tenant_admin")
    sales = await admin.post(f"/api/v1/tenants/{tid}/queues", json={"name": "Sales"}, expect=201)

    # Only the operator gives numbers out: they come from the center's carrier.
    await admin.post(url, json={"number": SALES_LINE}, expect=403)
    line = await operator.post(url, json={"number": SALES_LINE, "label": "Sales line"}, expect=201)
    assert (line["number"], line["label"], line["queue_id"]) == ("+4930777888", "Sales line", None)
    taken = await operator.post(url, json={"number": "+4930777888"}, expect=409)
    assert taken["code"] == "number_taken"
    bad = await operator.post(url, json={"number": "call me"}, expect=422)
    assert "international form" in str(bad["details"])

    # The admin picks the queue it rings in, and renames it; a queue of another business is refused.
    routed = await admin.patch(f"{url}/{line['id']}", json={"queue_id": sales["id"], "label": "Orders"})
    assert (routed["queue_id"], routed["label"]) == (sales["id"], "Orders")
    other = await operator.post("/api/v1/tenants", expect=201, json={"slug": "other", "name": "Other Ltd"})
    elsewhere = await operator.post(f"/api/v1/tenants/{other['id']}/queues", json={"name": "Theirs"}, expect=201)
    refused = await admin.patch(f"{url}/{line['id']}", json={"queue_id": elsewhere["id"]}, expect=422)
    assert refused["message"] == "no such queue in this tenant"
    back = await admin.patch(f"{url}/{line['id']}", json={"queue_id": None})
    assert (back["queue_id"], back["label"]) == (None, "Orders")

    # Another business can't have it while this one does; supervisors read, agents don't.
    await operator.post(f"/api/v1/tenants/{other['id']}/phone-numbers", json={"number": SALES_LINE}, expect=409)
    assert [n["number"] for n in (await agent.get(url))["items"]] == ["+4930777888"]  # the demo agent supervises
    plain = await add_member(client, operator, tid, "numbers-agent@demo.example", "agent")
    await plain.get(url, expect=403)
    await agent.patch(f"{url}/{line['id']}", json={"label": "mine"}, expect=403)

    # Taken back, it is free for another business.
    await admin.delete(f"{url}/{line['id']}", expect=403)
    await operator.delete(f"{url}/{line['id']}", expect=204)
    assert (await admin.get(url))["items"] == []
    await operator.post(f"/api/v1/tenants/{other['id']}/phone-numbers", json={"number": SALES_LINE}, expect=201)

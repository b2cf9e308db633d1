"""A fax arrives as HylaFAX mails it — its real received-fax template, with the fax attached as a
multi-page TIFF — in a mailbox that also gets ordinary mail: the fax becomes a conversation on
the fax channel with its pages, from a contact known by the sender's fax number; the ordinary
mail stays email. The agent's reply goes back as a fax: a PDF mailed to the fax service's
address for the sender's number."""

from __future__ import annotations

import io
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image, ImageDraw

from channels.fax.pages import render_pages
from gateway.config import Config
from tests.email.support import add_mailbox, email_config, eventually, mail, messages
from tests.helpers import Api
from tests.mail.dovecot import Dovecot

TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "fax" / "hylafax-faxrcvd-success.txt"
HYLAFAX = {"profile": "hylafax", "sender_pattern": "faxmaster@pbx.demo.example", "default_region": "DE",
           "reply_address": "{number}@fax.demo.example"}


@pytest.fixture
def config(tmp_path: Path, dovecot: Dovecot) -> Config:
    config = email_config(tmp_path / "data", dovecot)
    config.channels["fax"] = config.channels["email"].model_copy()
    return config


def tiff_fax(pages: int) -> bytes:
    """A normal-resolution (204x98 dpi) G4 fax, a black box in the top left of each page."""
    images = []
    for _ in range(pages):
        page = Image.new("1", (1728, 1100), 1)
        ImageDraw.Draw(page).rectangle((100, 60, 500, 260), fill=0)
        images.append(page)
    out = io.BytesIO()
    images[0].save(out, "TIFF", compression="group4", dpi=(204, 98), save_all=True, append_images=images[1:])
    return out.getvalue()


def hylafax_mail(callid1: str, sender: str, pages: int) -> bytes:
    """HylaFAX's own template, filled in as faxrcvd does, with the fax attached."""
    fields = {
        "$FROMADDR": "faxmaster@pbx.demo.example", "$SENDTO": "support@demo.example", "$SENDER": sender, "$PAGES": str(pages),
        "$QUALITY": "Normal", "$PAGE": "ISO A4", "$RECEIVED": "2026:11:23 09:15:02", "$TIMETORECV": "0:41",
        "$SIGNALRATE": "14400 bit/s", "$DATAFORMAT": "2-D MMR", "$ERRCORRECT": "Yes", "$CALLID1": callid1,
        "$CALLID2": "Bakery Schmidt", "$DEVICE": "ttyS0", "$COMMID": "000000123", "$HOSTNAME": "pbx", "$PORT": "4559",
        "$FILE": "recvq/fax000000123.tif",
    }
    text = TEMPLATE.read_text()
    for name in sorted(fields, key=len, reverse=True):
        text = text.replace(name, fields[name])
    headers, _, body = text.partition("\n\n")
    fax = EmailMessage()
    for line in headers.splitlines():
        name, _, value = line.partition(": ")
        if name.lower() not in ("content-type", "content-transfer-encoding"):
            fax[name] = value
    fax["Message-ID"] = make_msgid(domain="pbx.demo.example")
    fax.set_content(body, cte="quoted-printable")  # as the template declares
    fax.add_attachment(tiff_fax(pages), maintype="image", subtype="tiff", filename="fax000000123.tif")
    return fax.as_bytes()


async def test_a_hylafax_fax_becomes_a_fax_conversation_with_its_pages_and_other_mail_stays_email(
        client: TestClient, agent: Api, operator: Api, dovecot: Dovecot, smtp):
    server, port = smtp
    await add_mailbox(operator, dovecot, "fax-hylafax", fax_rules=[HYLAFAX], smtp_host="127.0.0.1", smtp_port=port,
                      smtp_security="none")
    await dovecot.append("fax-hylafax", hylafax_mail("030 1234567", "Bakery Schmidt", 2))
    await dovecot.append("fax-hylafax", mail("Opening hours?", "When are you open?").as_bytes())

    async def by_channel() -> dict[str, list[dict]] | None:
        found = (await agent.get("/api/v1/conversations?limit=50"))["items"]
        channels = {c["channel"]: [x for x in found if x["channel"] == c["channel"]] for c in found}
        return channels if {"fax", "email"} <= set(channels) else None

    channels = await eventually(by_channel)
    [fax] = channels["fax"]
    assert [c["subject"] for c in channels["email"]] == ["Opening hours?"]
    assert fax["subject"] == "Fax from +49301234567 (2 pages)"
    assert fax["attributes"]["fax"]["reply_address"] == "{number}@fax.demo.example"
    assert fax["attributes"]["fax"]["number_display"] == "+49 30 1234567"
    [message] = await messages(agent, fax["id"])
    assert "Station: Bakery Schmidt" in message["body_text"]
    pages = message["meta"]["fax"]["page_images"]
    assert len(pages) == 2 and len(message["meta"]["fax"]["page_sizes"]) == 2
    page = await agent.request("GET", f"/api/v1/attachments/{pages[0]}")
    image = Image.open(io.BytesIO(await page.read()))
    # Normal resolution stretched to the page's true shape; the box is where the sender drew it.
    assert image.height > 2 * 1100 * 0.95
    assert image.convert("L").getpixel((300, 300)) < 128
    [original] = message["meta"]["fax"]["documents"]
    assert (await agent.request("GET", f"/api/v1/attachments/{original}")).status == 200
    # Known by the fax number: the contact is found again by it, and work is queued on the fax channel.
    contact = await agent.get(f"/api/v1/contacts/{fax['contact']['id']}")
    assert {"kind": "fax", "value": "+49301234567"} in [{"kind": i["kind"], "value": i["value"]} for i in contact["identities"]]
    tasks = (await agent.get(f"/api/v1/conversations/{fax['id']}/tasks"))["items"]
    assert [(task["channel"], task["state"]) for task in tasks] == [("fax", "queued")]

    # The agent answers: the fax service gets a PDF for the sender's number.
    sent = await agent.post(f"/api/v1/conversations/{fax['id']}/messages", expect=201,
                            json={"body_text": "Your order of 40 rolls is confirmed.", "client_id": "fax-reply"})
    assert await eventually(lambda: len(server.mails) == 1)
    sender, recipients, outgoing = server.mails[0]
    assert recipients == ["49301234567@fax.demo.example"] and sender == "support@demo.example"
    [document] = list(outgoing.iter_attachments())
    assert document.get_content_type() == "application/pdf"
    rendered = render_pages(document.get_content(), "application/pdf")
    assert rendered.page_count == 1 and rendered.pages[0].width == 1728
    replied = await eventually(lambda: delivered(agent, fax["id"], sent["id"], "sent"))
    assert replied["meta"]["fax"]["to"] == "+49301234567"


async def delivered(agent: Api, conversation_id: str, message_id: str, status: str) -> dict | None:
    for message in await messages(agent, conversation_id):
        if message["id"] == message_id and message["meta"].get("delivery", {}).get("status") == status:
            return message
    return None


async def test_a_fax_from_an_unknown_number_is_kept_and_a_reply_says_why_it_cannot_be_faxed(
        client: TestClient, agent: Api, operator: Api, dovecot: Dovecot):
    await add_mailbox(operator, dovecot, "fax-anonymous", fax_rules=[HYLAFAX])
    await dovecot.append("fax-anonymous", hylafax_mail("<UNSPECIFIED>", "ACME Corp", 1))
    [fax] = await eventually(lambda: channel_conversations(agent, "fax"))
    assert fax["attributes"]["fax"]["number"] is None and fax["attributes"]["fax"]["csid"] == "ACME Corp"
    sent = await agent.post(f"/api/v1/conversations/{fax['id']}/messages", expect=201, json={"body_text": "Hello?"})
    failed = await eventually(lambda: delivered(agent, fax["id"], sent["id"], "failed"))
    assert "number is not known" in failed["meta"]["delivery"]["error"]


async def channel_conversations(agent: Api, channel: str) -> list[dict]:
    return (await agent.get(f"/api/v1/conversations?channel={channel}"))["items"]

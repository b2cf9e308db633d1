"""Files in conversations: stored durably, typed by their bytes, limited in size, served inert."""

from __future__ import annotations

import hashlib
import io
import zlib
import struct
from pathlib import Path

from aiohttp import FormData

from gateway.app import create_app
from tests.api.test_conversations import customer_writes
from tests.conftest import make_config
from tests.helpers import Api


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"\x00\xff\x00\x00"  # one red pixel
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def form(data: bytes, filename: str, content_type: str, **fields: str) -> FormData:
    payload = FormData(quote_fields=False)  # as browsers send names: raw UTF-8, not %-encoded
    for name, value in fields.items():
        payload.add_field(name, value)
    payload.add_field("file", io.BytesIO(data), filename=filename, content_type=content_type)
    return payload


async def test_agent_sends_an_image_and_it_downloads_intact(agent: Api, config):
    conversation = await customer_writes(agent.client.app, agent.tenant_id(), "ann@x.example", "chat", "hi")
    png = tiny_png()
    message = await agent.post(f"/api/v1/conversations/{conversation}/attachments", expect=201,
                               data=form(png, "../../etc/red dot.png", "image/png", body_text="here you go", client_id="up-1"))
    attachment = message["meta"]["attachments"][0]
    assert (attachment["filename"], attachment["content_type"], attachment["size"]) == ("red dot.png", "image/png", len(png))
    assert message["body_text"] == "here you go"
    resp = await agent.request("GET", f"/api/v1/attachments/{attachment['id']}")
    assert resp.status == 200
    assert await resp.read() == png
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    # Stored under the data dir, by content, fsynced before the answer.
    stored = list((config.data_dir / "files").rglob(hashlib.sha256(png).hexdigest()))
    assert len(stored) == 1
    # A retried upload with the same client id is one message and one attachment.
    again = await agent.post(f"/api/v1/conversations/{conversation}/attachments", expect=200,
                             data=form(png, "red dot.png", "image/png", client_id="up-1"))
    assert again["id"] == message["id"]
    messages = (await agent.get(f"/api/v1/conversations/{conversation}/messages"))["items"]
    assert [m["meta"].get("attachments", [{}])[0].get("id") for m in messages if m["author_type"] == "agent"] == [attachment["id"]]


async def test_a_file_that_lies_about_its_type_is_refused(agent: Api):
    conversation = await customer_writes(agent.client.app, agent.tenant_id(), "ann@x.example", "chat", "hi")
    html = b"<html><script>alert(document.cookie)</script></html>"
    resp = await agent.request("POST", f"/api/v1/conversations/{conversation}/attachments", data=form(html, "cat.png", "image/png"))
    assert resp.status == 415 and (await resp.json())["code"] == "file_type_refused"
    elf = b"\x7fELF" + b"\x00" * 100
    resp = await agent.request("POST", f"/api/v1/conversations/{conversation}/attachments", data=form(elf, "notes.txt", "text/plain"))
    assert resp.status == 415
    messages = (await agent.get(f"/api/v1/conversations/{conversation}/messages"))["items"]
    assert len(messages) == 1  # nothing was added


async def test_oversize_upload_is_refused_and_leaves_nothing(aiohttp_client, tmp_path: Path):
    from aiohttp import DummyCookieJar

    config = make_config(tmp_path / "data", uploads={"max_bytes": 4096})
    client = await aiohttp_client(create_app(config), cookie_jar=DummyCookieJar())
    agent = await Api.login(client, config.demo.agent_email, config.demo.agent_password)
    conversation = await customer_writes(client.app, agent.tenant_id(), "ann@x.example", "chat", "hi")
    resp = await agent.request("POST", f"/api/v1/conversations/{conversation}/attachments",
                               data=form(b"a" * 10_000, "big.txt", "text/plain"))
    assert resp.status == 413 and (await resp.json())["code"] == "file_too_large"
    leftovers = [p for p in (config.data_dir / "files").rglob("*") if p.is_file()]
    assert leftovers == []
    ok = await agent.post(f"/api/v1/conversations/{conversation}/attachments", expect=201,
                          data=form("héllo, wörld\n".encode(), "note.txt", "text/plain"))
    assert ok["meta"]["attachments"][0]["content_type"] == "text/plain"


async def test_json_instead_of_a_file_gets_a_clear_error(agent: Api):
    conversation = await customer_writes(agent.client.app, agent.tenant_id(), "ann@x.example", "chat", "hi")
    resp = await agent.request("POST", f"/api/v1/conversations/{conversation}/attachments", json={"file": "x"})
    assert resp.status == 415
    resp = await agent.request("POST", f"/api/v1/conversations/{conversation}/attachments", data=FormData({"body_text": "no file"}))
    assert resp.status in (415, 422)


def several(files: list[tuple[bytes, str, str]], **fields: str) -> FormData:
    payload = FormData(quote_fields=False)
    for name, value in fields.items():
        payload.add_field(name, value)
    for data, filename, content_type in files:
        payload.add_field("file", io.BytesIO(data), filename=filename, content_type=content_type)
    return payload


async def agent_messages(agent: Api, conversation: str) -> list[dict]:
    items = (await agent.get(f"/api/v1/conversations/{conversation}/messages"))["items"]
    return [m for m in items if m["author_type"] == "agent"]


async def test_several_files_go_as_one_message_in_the_order_sent_and_a_retry_stores_them_once(agent: Api):
    conversation = await customer_writes(agent.client.app, agent.tenant_id(), "ann@x.example", "email", "hi")
    files = [(tiny_png(), "photo.png", "image/png"), (b"%PDF-1.4 label", "label.pdf", "application/pdf"),
             ("Steps:\n1. Pack it\n".encode(), "steps.txt", "text/plain")]
    url = f"/api/v1/conversations/{conversation}/attachments"
    message = await agent.post(url, expect=201, data=several(files, body_text="Three things for you", client_id="multi-1"))
    listed = message["meta"]["attachments"]
    assert [(a["filename"], a["content_type"], a["size"]) for a in listed] == [
        ("photo.png", "image/png", len(files[0][0])), ("label.pdf", "application/pdf", len(files[1][0])),
        ("steps.txt", "text/plain", len(files[2][0]))]
    assert message["body_text"] == "Three things for you"
    for attachment, (data, _, _) in zip(listed, files):
        resp = await agent.request("GET", f"/api/v1/attachments/{attachment['id']}")
        assert resp.status == 200 and await resp.read() == data
    # The same send again (a retry after a lost answer) is the same message, not a second one.
    again = await agent.post(url, expect=200, data=several(files, body_text="Three things for you", client_id="multi-1"))
    assert again["id"] == message["id"] and again["meta"]["attachments"] == listed
    [stored] = await agent_messages(agent, conversation)
    assert stored["id"] == message["id"] and [a["id"] for a in stored["meta"]["attachments"]] == [a["id"] for a in listed]


async def test_more_files_than_allowed_are_refused_and_nothing_is_sent(agent: Api):
    from gateway.api.uploads import MAX_FILES_PER_UPLOAD

    conversation = await customer_writes(agent.client.app, agent.tenant_id(), "ann@x.example", "email", "hi")
    url = f"/api/v1/conversations/{conversation}/attachments"
    too_many = [(f"file {i}\n".encode(), f"f{i}.txt", "text/plain") for i in range(MAX_FILES_PER_UPLOAD + 1)]
    resp = await agent.request("POST", url, data=several(too_many, body_text="all of them"))
    body = await resp.json()
    assert resp.status == 413 and body["code"] == "too_many_files", body
    assert str(MAX_FILES_PER_UPLOAD) in body["message"]
    assert await agent_messages(agent, conversation) == []
    # The most that is allowed goes through, as one message.
    message = await agent.post(url, expect=201, data=several(too_many[:MAX_FILES_PER_UPLOAD]))
    assert [a["filename"] for a in message["meta"]["attachments"]] == [f"f{i}.txt" for i in range(MAX_FILES_PER_UPLOAD)]


async def test_one_bad_file_among_several_refuses_the_whole_message(agent: Api):
    conversation = await customer_writes(agent.client.app, agent.tenant_id(), "ann@x.example", "email", "hi")
    url = f"/api/v1/conversations/{conversation}/attachments"
    good = (tiny_png(), "photo.png", "image/png")
    resp = await agent.request("POST", url, data=several([good, (b"\x7fELF" + b"\x00" * 100, "tool.txt", "text/plain")]))
    body = await resp.json()
    assert resp.status == 415 and body["code"] == "file_type_refused" and body["details"]["file"] == "tool.txt"
    resp = await agent.request("POST", url, data=several([good, (b"", "empty.txt", "text/plain")]))
    body = await resp.json()
    assert resp.status == 422 and body["code"] == "empty_file" and "empty.txt" in body["message"]
    assert await agent_messages(agent, conversation) == []


async def test_files_together_are_limited_as_well_as_each_one(aiohttp_client, tmp_path: Path, monkeypatch):
    from aiohttp import DummyCookieJar

    import gateway.api.uploads

    monkeypatch.setattr(gateway.api.uploads, "MAX_UPLOAD_TOTAL_BYTES", 6000)
    config = make_config(tmp_path / "data", uploads={"max_bytes": 4096})
    client = await aiohttp_client(create_app(config), cookie_jar=DummyCookieJar())
    agent = await Api.login(client, config.demo.agent_email, config.demo.agent_password)
    conversation = await customer_writes(client.app, agent.tenant_id(), "ann@x.example", "email", "hi")
    url = f"/api/v1/conversations/{conversation}/attachments"
    resp = await agent.request("POST", url, data=several([(b"a" * 4000, "one.txt", "text/plain"), (b"b" * 4000, "two.txt", "text/plain")]))
    body = await resp.json()
    assert resp.status == 413 and body["code"] == "upload_too_large" and body["details"]["file"] == "two.txt", body
    resp = await agent.request("POST", url, data=several([(b"a" * 1000, "one.txt", "text/plain"), (b"b" * 5000, "two.txt", "text/plain")]))
    assert resp.status == 413 and (await resp.json())["code"] == "file_too_large"
    assert await agent_messages(agent, conversation) == []
    ok = await agent.post(url, expect=201, data=several([(b"a" * 3000, "one.txt", "text/plain"), (b"b" * 2900, "two.txt", "text/plain")]))
    assert [a["size"] for a in ok["meta"]["attachments"]] == [3000, 2900]

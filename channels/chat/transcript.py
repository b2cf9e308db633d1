"""A chat's transcript as a plain-text mail: what the visitor saw, in the business's time zone —
never an internal note, never an agent's surname or account."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from gateway.realtime.visibility import first_name


def render_transcript(business: str, timezone: str, messages: list[dict[str, Any]], agent_names: dict[str, str]) -> tuple[str, str]:
    """(subject, body) for the visitor's messages and the agents' replies."""
    zone = ZoneInfo(timezone)
    lines = [f"Your chat with {business}", ""]
    for message in messages:
        if message.get("kind") == "note":
            continue
        when = datetime.fromisoformat(message["created_at"]).astimezone(zone).strftime("%Y-%m-%d %H:%M")
        author = {"contact": "You", "system": business}.get(message["author_type"]) or (
            first_name(agent_names.get(message.get("author_id") or "")) or business)
        text = message.get("body_text") or ""
        files = [f["filename"] for f in (message.get("meta") or {}).get("attachments") or []]
        if files:
            text = (text + "\n" if text else "") + "".join(f"[file: {name}]" for name in files)
        lines.append(f"[{when}] {author}:")
        lines.extend(f"  {line}" for line in text.splitlines() or [""])
    lines += ["", f"Times are in {timezone}. This is an automatic message; replies are not read."]
    return f"Your chat with {business}", "\n".join(lines) + "\n"

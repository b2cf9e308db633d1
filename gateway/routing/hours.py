"""Business hours of a queue, in the queue's time zone.

    {"timezone": "Europe/Berlin",
     "weekly": {"mon": [["09:00", "17:00"]], "sat": [["10:00", "14:00"]]},   # days left out: closed
     "closed_dates": ["2026-12-25"]}

A window is [open, close) in local wall-clock time; "24:00" closes at midnight. No hours at all
means always open. Local time is what people put on their web site, so daylight-saving changes
move the windows with the clock, as they should.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$"


class BusinessHours(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timezone: str = "UTC"
    weekly: dict[str, list[tuple[str, str]]] = Field(default_factory=dict)
    closed_dates: list[date] = Field(default_factory=list, max_length=366)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Berlin") from None
        return value

    @field_validator("weekly")
    @classmethod
    def _windows(cls, value: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
        for day, windows in value.items():
            if day not in DAYS:
                raise ValueError(f"{day!r} is not one of {', '.join(DAYS)}")
            for start, end in windows:
                if not re.match(_HHMM, start) or not re.match(_HHMM, end):
                    raise ValueError(f"{day}: times are HH:MM, got {start!r}-{end!r}")
                if start >= end:
                    raise ValueError(f"{day}: {start}-{end} closes before it opens")
        return value


def _clock(text: str) -> time:
    return time.max if text == "24:00" else time.fromisoformat(text)


def is_open(hours: BusinessHours | None, at: datetime) -> bool:
    """Whether the queue is open at the (timezone-aware) instant `at`."""
    if hours is None or (not hours.weekly and not hours.closed_dates):
        return True
    local = at.astimezone(ZoneInfo(hours.timezone))
    if local.date() in hours.closed_dates:
        return False
    if not hours.weekly:
        return True
    now = local.time()
    return any(_clock(start) <= now < _clock(end) for start, end in hours.weekly.get(DAYS[local.weekday()], []))

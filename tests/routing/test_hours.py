"""Business hours per queue, in the queue's own time zone."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from pydantic import ValidationError

from gateway.routing.hours import BusinessHours, is_open

SHANGHAI = BusinessHours(timezone="Asia/Shanghai", weekly={"mon": [("09:00", "12:00"), ("13:00", "18:00")], "sat": [("10:00", "24:00")]},
                         closed_dates=[date(2026, 11, 30)])


@pytest.mark.parametrize("utc, expected", [
    ("2026-11-23T01:00:00", True),   # Monday 09:00 in Shanghai: opens
    ("2026-11-23T00:59:59", False),  # Monday 08:59:59
    ("2026-11-23T04:30:00", False),  # lunch, 12:30
    ("2026-11-23T09:59:59", True),   # 17:59:59
    ("2026-11-23T10:00:00", False),  # 18:00 closes
    ("2026-11-28T15:59:00", True),   # Saturday 23:59 (open until midnight)
    ("2026-11-24T03:00:00", False),  # Tuesday: no hours
    ("2026-11-30T02:00:00", False),  # a Monday, but a closed date
])
def test_open_and_closed(utc, expected):
    at = datetime.fromisoformat(utc).replace(tzinfo=timezone.utc)
    assert is_open(SHANGHAI, at) is expected


def test_daylight_saving_moves_with_the_wall_clock():
    berlin = BusinessHours(timezone="Europe/Berlin", weekly={day: [("09:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")})
    assert is_open(berlin, datetime(2026, 7, 6, 7, 0, tzinfo=timezone.utc))  # 09:00 CEST
    assert not is_open(berlin, datetime(2026, 12, 7, 7, 0, tzinfo=timezone.utc))  # 08:00 CET
    assert is_open(berlin, datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc))  # 09:00 CET


def test_no_hours_is_always_open_and_bad_hours_are_refused():
    assert is_open(None, datetime.now(timezone.utc))
    assert is_open(BusinessHours(), datetime.now(timezone.utc))
    for bad in ({"timezone": "Mars/Base"}, {"weekly": {"monday": [("09:00", "17:00")]}},
                {"weekly": {"mon": [("17:00", "09:00")]}}, {"weekly": {"mon": [("9am", "5pm")]}}):
        with pytest.raises(ValidationError):
            BusinessHours.model_validate(bad)

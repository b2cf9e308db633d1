"""A report's intervals follow the tenant's wall clock, also on the days the clocks change."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from gateway.reports.periods import Period, PeriodError


def test_the_day_the_clocks_go_back_has_25_hours_each_saying_its_offset() -> None:
    period = Period.of(date(2026, 10, 25), date(2026, 10, 25), "Europe/Berlin", 60)
    starts = [period.local(start) for start, _ in period.intervals()]
    assert len(starts) == 25
    assert starts[:4] == ["2026-10-25T00:00+02:00", "2026-10-25T01:00+02:00", "2026-10-25T02:00+02:00", "2026-10-25T02:00+01:00"]
    assert starts[-1] == "2026-10-25T23:00+01:00"
    # 02:30 the second time round is in the fourth interval.
    assert period.index(datetime(2026, 10, 25, 1, 30, tzinfo=timezone.utc)) == 3


def test_a_quarter_hour_report_of_a_week_and_the_ranges_refused() -> None:
    week = Period.of(date(2026, 11, 16), date(2026, 11, 22), "Asia/Kathmandu", 15)
    assert len(week.intervals()) == 7 * 96 and week.local(week.start) == "2026-11-16T00:00+05:45"
    assert week.index(week.end) is None
    for first, last, minutes in ((date(2026, 11, 2), date(2026, 11, 1), 60), (date(2026, 1, 1), date(2026, 6, 1), 60),
                                 (date(2026, 11, 1), date(2026, 11, 1), 45), (date(2026, 10, 1), date(2026, 11, 15), 15)):
        with pytest.raises(PeriodError):
            Period.of(first, last, "UTC", minutes)

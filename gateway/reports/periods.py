"""A report's time frame: whole days in the tenant's time zone, cut into intervals of 15, 30 or 60
minutes (or not cut). Intervals run on the wall clock of that zone from its midnight; on a day the
clocks change, an interval keeps its length and says its own offset (01:00+02:00, then 01:00+01:00).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_DAYS = 93  # a quarter: longer ranges are for exports of the raw events
MAX_INTERVALS = 3_000  # a month of quarter hours, two of half hours, a quarter of hours


class PeriodError(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    start: datetime  # UTC, the first day's midnight in the zone
    end: datetime  # UTC, the midnight after the last day
    zone: ZoneInfo
    minutes: int | None  # None: one interval, the whole range

    @classmethod
    def of(cls, first: date, last: date, zone_name: str, minutes: int | None) -> "Period":
        if last < first:
            raise PeriodError("the range ends before it starts")
        if (last - first).days + 1 > MAX_DAYS:
            raise PeriodError(f"a report covers at most {MAX_DAYS} days")
        if minutes not in (None, 15, 30, 60):
            raise PeriodError("intervals are 15, 30 or 60 minutes")
        if minutes is not None and ((last - first).days + 1) * 1440 // minutes > MAX_INTERVALS:
            raise PeriodError(f"at most {MAX_INTERVALS} intervals: a shorter range, or longer intervals")
        zone = _zone(zone_name)
        start = datetime.combine(first, time(0), zone).astimezone(timezone.utc)
        end = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(timezone.utc)
        return cls(start, end, zone, minutes)

    @staticmethod
    def today(zone_name: str) -> date:
        """Today where the tenant is."""
        return datetime.now(_zone(zone_name)).date()

    def intervals(self) -> list[tuple[datetime, datetime]]:
        """Every interval of the range, in order (UTC bounds), empty ones too: charts need them."""
        if self.minutes is None:
            return [(self.start, self.end)]
        step = timedelta(minutes=self.minutes)
        bounds, at = [], self.start
        while at < self.end:
            bounds.append((at, min(at + step, self.end)))
            at += step
        return bounds

    def index(self, moment: datetime) -> int | None:
        """Which interval `moment` (aware) falls in; None outside the range."""
        if not self.start <= moment < self.end:
            return None
        if self.minutes is None:
            return 0
        return int((moment - self.start).total_seconds() // (self.minutes * 60))

    def local(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).isoformat(timespec="minutes")


def _zone(name: str) -> ZoneInfo:
    """The tenant's zone; UTC for a name this machine's tz database does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")

"""The unit of work: an inclusive range of local calendar dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Window:
    """Inclusive range of local calendar dates."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"window end {self.end} is before its start {self.start}")

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def days(self) -> int:
        return (self.end - self.start).days + 1

    def months(self) -> list[date]:
        """The first day of each calendar month the window touches, the latest first."""
        firsts, month = [], self.end.replace(day=1)
        while month >= self.start.replace(day=1):
            firsts.append(month)
            month = (month - timedelta(days=1)).replace(day=1)
        return firsts

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """Half-open [start, end) instants in `tz`, for querying timestamp columns."""
        return (
            datetime.combine(self.start, time(), tz),
            datetime.combine(self.end + timedelta(days=1), time(), tz),
        )


def trailing_window(days: int, tz: ZoneInfo, end: date | None = None) -> Window:
    """`days` local days ending at `end`, by default yesterday in `tz` (today is still arriving)."""
    last = end or datetime.now(tz).date() - timedelta(days=1)
    return Window(last - timedelta(days=days - 1), last)

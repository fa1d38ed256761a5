"""The sample period, its planted events and how many items fall on each day and hour."""

from __future__ import annotations

from datetime import date, timedelta, timezone

SEED = 20261031
KST = timezone(timedelta(hours=9))
START = date(2026, 8, 1)
END = date(2026, 10, 31)
SPIKE_START = date(2026, 10, 20)
SPIKE_END = date(2026, 10, 24)
APP_UPDATE = date(2026, 10, 6)

# Items per source before the planted events are added (the events add roughly 5%).
BASE_COUNTS = {"reviews": 1540, "surveys": 775, "chats": 668}
# Extra items per day of the delivery surge, and at the end of October for the app-crash trend.
SPIKE_EXTRA = {"reviews": 3.2, "surveys": 1.6, "chats": 2.5}
TREND_PEAK = {"reviews": 3.2, "surveys": 1.3, "chats": 2.0}
# Relative volume Monday..Sunday: reviews follow Monday deliveries, the call centre is quiet at weekends.
WEEKDAY_WEIGHTS = {
    "reviews": (1.25, 1.15, 1.05, 1.0, 0.95, 0.75, 0.85),
    "surveys": (1.15, 1.1, 1.05, 1.0, 0.95, 0.8, 0.9),
    "chats": (1.35, 1.15, 1.05, 1.0, 1.0, 0.6, 0.55),
}
REVIEW_HOURS = (2, 1, 0.6, 0.3, 0.2, 0.3, 0.6, 1, 2, 3, 3, 3, 4, 4, 3, 3, 3, 3, 4, 5, 6, 7, 6, 4)
SURVEY_HOURS = (1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.6, 1.5, 3, 4, 4, 4, 5, 4, 3, 3, 3, 3, 3, 4, 5, 5, 4, 2)
CHAT_HOURS = (1, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 3, 5, 6, 6, 5, 6, 6, 5, 5, 4, 3, 3, 3, 3, 2, 1.5)

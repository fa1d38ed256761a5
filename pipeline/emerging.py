"""Emerging issues: which categories, touchpoints and topics have more pain today than usual.

Each day's count is compared with its own trailing baseline (28 days by default) with a test made for
counts: the tail probability of a Poisson distribution with the baseline mean, or of a negative
binomial fitted to the baseline when its days vary more than Poisson allows (overdispersion is the rule
in customer feedback: Mondays, campaigns). A flag needs a small tail probability, a minimum count,
at least twice the expected count (with dozens of keys tested every day, significance alone flags
ordinary noise now and then), and enough baseline days actually mined, so a fresh warehouse does not
flag everything.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from scipy.stats import nbinom, poisson
from sqlalchemy import Engine, delete, func, select

from pipeline.config import EmergingConfig
from pipeline.warehouse import emerging_issues, feedback, insert_rows, pain_point_categories, pain_points
from pipeline.window import Window


def tail_probability(count: int, history: list[int]) -> tuple[float, float]:
    """(expected, P(X ≥ count)) under the baseline's distribution."""
    mean = sum(history) / len(history)
    variance = sum((x - mean) ** 2 for x in history) / max(len(history) - 1, 1)
    expected = max(mean, 0.5 / len(history))
    if variance > mean > 0:
        size = mean**2 / (variance - mean)
        return expected, float(nbinom.sf(count - 1, size, size / (size + mean)))
    return expected, float(poisson.sf(count - 1, expected))


def judge_day(count: int, history: list[int], settings: EmergingConfig) -> dict:
    """Expected count, tail probability, score (−log10 p) and flag of one day's count, against the
    counts of the baseline days that were mined (days with no feedback at all say nothing)."""
    expected, p_value = tail_probability(count, history)
    return {
        "expected": round(expected, 3), "p_value": p_value,
        "score": round(-math.log10(max(p_value, 1e-300)), 3),
        "flag": bool(p_value <= settings.max_p_value and count >= settings.min_count
                     and count >= settings.min_ratio * expected
                     and len(history) >= settings.min_baseline_days),
    }


def _daily_counts(engine: Engine, start: date, end: date) -> dict[tuple[str, str], dict[date, int]]:
    in_range = (pain_points.c.record_date >= start, pain_points.c.record_date <= end)
    queries = {
        "category": select(pain_points.c.record_date, pain_point_categories.c.category, func.count())
        .join(pain_point_categories, pain_point_categories.c.pain_point_id == pain_points.c.pain_point_id)
        .where(*in_range).group_by(pain_points.c.record_date, pain_point_categories.c.category),
        "touchpoint": select(pain_points.c.record_date, pain_points.c.touchpoint, func.count())
        .where(*in_range).group_by(pain_points.c.record_date, pain_points.c.touchpoint),
        "topic": select(pain_points.c.record_date, pain_points.c.topic_id, func.count())
        .where(*in_range).group_by(pain_points.c.record_date, pain_points.c.topic_id),
    }
    counts: dict[tuple[str, str], dict[date, int]] = defaultdict(dict)
    with engine.connect() as conn:
        for dimension, query in queries.items():
            for day, key, n in conn.execute(query):
                counts[(dimension, str(key))][day] = n
    return counts


def _mined_days(engine: Engine, start: date, end: date) -> set[date]:
    with engine.connect() as conn:
        return set(conn.execute(select(feedback.c.record_date).distinct().where(
            feedback.c.record_date >= start, feedback.c.record_date <= end)).scalars())


def detect(engine: Engine, window: Window, settings: EmergingConfig | None = None) -> list[dict]:
    """One row per day of the window and key with pain that day; flagged rows are emerging issues."""
    settings = settings or EmergingConfig()
    first = window.start - timedelta(days=settings.baseline_days)
    counts = _daily_counts(engine, first, window.end)
    mined = _mined_days(engine, first, window.end)
    rows = []
    day = window.start
    while day <= window.end:
        baseline = [day - timedelta(days=i) for i in range(settings.baseline_days, 0, -1)]
        baseline = [d for d in baseline if d in mined]
        for (dimension, key), series in sorted(counts.items()):
            count = series.get(day, 0)
            if not count or not baseline:
                continue
            judged = judge_day(count, [series.get(d, 0) for d in baseline], settings)
            rows.append({"day": day, "dimension": dimension, "key": key, "count": count, **judged})
        day += timedelta(days=1)
    return rows


def write_emerging(engine: Engine, window: Window, settings: EmergingConfig | None = None) -> int:
    """Replace the window's rows of `emerging_issues`; returns how many are flagged."""
    settings = settings or EmergingConfig()
    rows = detect(engine, window, settings)
    computed_at = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(delete(emerging_issues).where(emerging_issues.c.day >= window.start,
                                                   emerging_issues.c.day <= window.end))
        insert_rows(conn, emerging_issues, [{**row, "computed_at": computed_at} for row in rows])
    return sum(row["flag"] for row in rows)


def flagged(engine: Engine, window: Window) -> list[dict]:
    with engine.connect() as conn:
        result = conn.execute(
            select(emerging_issues.c.day, emerging_issues.c.dimension, emerging_issues.c.key,
                   emerging_issues.c.count, emerging_issues.c.expected, emerging_issues.c.score)
            .where(emerging_issues.c.day >= window.start, emerging_issues.c.day <= window.end,
                   emerging_issues.c.flag)
            .order_by(emerging_issues.c.score.desc())
        ).mappings().all()
    return [dict(row) for row in result]

"""Emerging issues: which categories, touchpoints, topics and products have more pain than usual.

Each day's count is compared with its own trailing baseline (28 mined days by default) with a test
made for counts: the tail probability of a Poisson distribution with the baseline mean, or of a
negative binomial fitted to the baseline when its days vary more than Poisson allows (overdispersion is
the rule in customer feedback: Mondays, campaigns). A flag needs a small tail probability, a minimum
count, at least twice the expected count (with dozens of keys tested every day, significance alone
flags ordinary noise now and then), and enough baseline days actually mined, so a fresh warehouse does
not flag everything.

An incident that lasts several days is also tested as one: the count of the last `window_days` days
against the baseline before them (so its first days do not inflate the baseline its later days are
judged by), at a stricter `max_window_p_value`, while the day itself is still at least twice its
expected count: alone, the day's test misses a surge whose first days widen the negative binomial that
judges the rest. The days after a flag are judged against baselines that hold the incident's first days
too, so a day that carries on a flagged incident (`judge_key`) is flagged as well.

Pain that grows over weeks moves its own trailing baseline along with it, so no day stands out: a key
is also `rising` when its last `trend_days` (14) days hold improbably more pain than the baseline
before them, leaving out the days the spike tests flagged (reported already; a one-day spike would
otherwise keep its key rising for two weeks). `python -m models.evaluation.evaluate_emerging` measures
all three tests on real complaint counts. Figures: docs/evaluation.md#emerging-issues; decision:
docs/decisions/0007-emerging-issue-tests.md.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from scipy.stats import binom, nbinom, poisson
from sqlalchemy import Engine, delete, distinct, func, select, tuple_

from pipeline.config import EmergingConfig
from pipeline.warehouse.schema import emerging_issues, feedback, pain_point_categories, pain_points
from pipeline.warehouse.writes import insert_rows
from pipeline.window import Window


def tail_probability(count: int, history: list[int], days: int = 1) -> tuple[float, float]:
    """(expected, P(X ≥ count)) for the total of `days` days under the baseline's distribution."""
    mean = sum(history) / len(history)
    variance = sum((x - mean) ** 2 for x in history) / max(len(history) - 1, 1)
    expected = max(mean, 0.5 / len(history)) * days
    if variance > mean > 0:
        size = mean**2 / (variance - mean)  # a sum of `days` such days: `days` × size, the same p
        return expected, float(nbinom.sf(count - 1, size * days, size / (size + mean)))
    return expected, float(poisson.sf(count - 1, expected))


def baseline_days(day: date, mined: Collection[date], settings: EmergingConfig, skip: int = 0) -> list[date]:
    """The mined days among the `baseline_days` before `day - skip` (days with no feedback at all say
    nothing, so they are not zeros)."""
    last = day - timedelta(days=skip)
    return [d for d in (last - timedelta(days=i) for i in range(settings.baseline_days, 0, -1)) if d in mined]


def recent_days(day: date, days: int, mined: Collection[date]) -> list[date]:
    """The mined days among the `days` up to and including `day`, newest first."""
    return [d for d in (day - timedelta(days=i) for i in range(days)) if d in mined]


def judge_day(count: int, history: list[int], settings: EmergingConfig, window_count: int | None = None,
              window_history: list[int] | None = None, window_mined: int = 0) -> dict:
    """Expected count, tail probability and flag of one day's count against its baseline, and, given
    the window's total over its `window_mined` mined days and the baseline before the window, the
    window's tail probability; score is −log10 of the smaller p."""
    expected, p_value = tail_probability(count, history)
    elevated = count >= settings.min_ratio * expected  # the window's test, too: the incident goes on
    flag = (elevated and count >= settings.min_count and p_value <= settings.max_p_value
            and len(history) >= settings.min_baseline_days)
    window_p = None
    if window_count is not None and window_history and window_mined > 1:
        window_expected, window_p = tail_probability(window_count, window_history, window_mined)
        flag = flag or bool(elevated and window_count >= settings.min_count
                            and window_count >= settings.min_ratio * window_expected
                            and window_p <= settings.max_window_p_value
                            and len(window_history) >= settings.min_baseline_days)
    return {
        "expected": round(expected, 3), "p_value": p_value,
        "window_count": window_count if window_p is not None else None, "window_p_value": window_p,
        "score": round(-math.log10(max(min(p_value, window_p or 1.0), 1e-300)), 3),
        "flag": bool(flag),
    }


def judge_series(series: Mapping[date, int], mined: Collection[date], day: date,
                 settings: EmergingConfig) -> dict | None:
    """`judge_day` for one key's daily counts on `day`; None when the day has no count or no baseline."""
    count = series.get(day, 0)
    history = baseline_days(day, mined, settings)
    if not count or not history:
        return None
    window = recent_days(day, settings.window_days, mined)
    before_window = baseline_days(day, mined, settings, skip=settings.window_days - 1)
    return judge_day(count, [series.get(d, 0) for d in history], settings,
                     sum(series.get(d, 0) for d in window), [series.get(d, 0) for d in before_window],
                     len(window))


def judge_key(series: Mapping[date, int], mined: Collection[date], days: Sequence[date],
              settings: EmergingConfig) -> dict[date, dict | None]:
    """`judge_series` for each of `days` (consecutive, oldest first), and the days that carry on a
    flagged incident flagged too (`continues`). Judged against their own baselines, which hold the
    incident's first days, an incident's later days pass for ordinary. Against the expected count of
    its last flagged day, a day continues it when it is above that count and, with the days of its
    last `window_days` not flagged yet, holds at least min_count and min_ratio × as much per day (a
    one-day lull does not end an incident; an ordinary day does), for at most `trend_days` (longer,
    it is a trend)."""
    judged = {day: judge_series(series, mined, day, settings) for day in days}
    incident: tuple[date, float] | None = None  # the last flagged day and its expected count
    for day in days:
        row = judged[day]
        if row is None:
            incident = None if day in mined else incident  # a mined day without pain ends it
            continue
        row["continues"] = False
        if row["flag"]:
            incident = (day, row["expected"])
            continue
        continues = False
        if incident and (day - incident[0]).days <= settings.trend_days and series[day] > incident[1]:
            unflagged = [d for d in recent_days(day, settings.window_days, mined)
                         if not (judged.get(d) or {}).get("flag")]
            total = sum(series.get(d, 0) for d in unflagged)
            continues = total >= max(settings.min_count, settings.min_ratio * incident[1] * len(unflagged))
        row["flag"] = row["continues"] = continues
        incident = incident if continues else None
    return judged


def judge_trend(series: Mapping[date, int], mined: Collection[date], day: date, settings: EmergingConfig,
                spike_days: Collection[date] = (), sparse: bool = False) -> dict:
    """Whether the key is rising: its last `trend_days` days, less the days the spike test flagged
    (those are reported already), against the baseline before them. None figures when too few of
    those days were mined to say.

    A `sparse` key's baseline (a product with one complaint in four weeks) pins its rate down too
    loosely to be taken as known: a handful of complaints in two weeks would pass, and among dozens of
    products some do so by chance every month. Its p-value is the larger of that and the exact test of
    equal daily rates (the share of both periods' pain that falls in the recent days, binomial given the
    total). Dense keys keep the first test alone: the exact one would miss most gentle ramps."""
    recent = [d for d in recent_days(day, settings.trend_days, mined) if d not in spike_days]
    earlier = baseline_days(day, mined, settings, skip=settings.trend_days - 1)
    if len(recent) < max(settings.trend_days // 2, 1) or not earlier:
        return {"trend_count": None, "trend_expected": None, "trend_p_value": None, "rising": False}
    count = sum(series.get(d, 0) for d in recent)
    history = [series.get(d, 0) for d in earlier]
    expected, p_value = tail_probability(count, history, len(recent))
    if sparse:
        share = len(recent) / (len(recent) + len(earlier))
        p_value = max(p_value, float(binom.sf(count - 1, count + sum(history), share)))
    return {
        "trend_count": count, "trend_expected": round(expected, 3), "trend_p_value": p_value,
        "rising": bool(count >= settings.min_count and count >= settings.trend_min_ratio * expected
                       and p_value <= settings.max_trend_p_value
                       and len(earlier) >= settings.min_baseline_days),
    }


# Dozens of keys with a few texts a month each: their trend baselines are too thin to take as known.
SPARSE_DIMENSIONS = frozenset({"product"})


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
        # Records, not pain points: one long review listing five faults is one customer, not a spike.
        "product": select(feedback.c.record_date, feedback.c.product,
                          func.count(distinct(tuple_(feedback.c.source, feedback.c.source_id))))
        .where(feedback.c.record_date >= start, feedback.c.record_date <= end, feedback.c.pain_points > 0,
               feedback.c.product.is_not(None))
        .group_by(feedback.c.record_date, feedback.c.product),
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
    """One row per day of the window and key with pain that day; flagged rows are emerging issues,
    rising ones a sustained increase."""
    settings = settings or EmergingConfig()
    # the trend test leaves out the flagged days of its window; a flag there may continue an incident
    # flagged up to trend_days before
    judged_from = window.start - timedelta(days=2 * settings.trend_days - 1)
    first = judged_from - timedelta(days=settings.baseline_days + settings.window_days - 1)
    counts = _daily_counts(engine, first, window.end)
    mined = _mined_days(engine, first, window.end)
    days = [judged_from + timedelta(days=i) for i in range((window.end - judged_from).days + 1)]
    rows = []
    for (dimension, key), series in sorted(counts.items()):
        judged = judge_key(series, mined, days, settings)
        spike_days = {day for day, j in judged.items() if j and j["flag"]}
        for day in days:
            if day >= window.start and (day_judged := judged[day]) is not None:
                rows.append({"day": day, "dimension": dimension, "key": key, "count": series[day],
                             **day_judged, **judge_trend(series, mined, day, settings, spike_days,
                                                         sparse=dimension in SPARSE_DIMENSIONS)})
    return sorted(rows, key=lambda row: row["day"])


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
    """The window's emerging issues, the most improbable first; topics named by their label."""
    with engine.connect() as conn:
        result = conn.execute(
            select(emerging_issues.c.day, emerging_issues.c.dimension, emerging_issues.c.key,
                   emerging_issues.c.count, emerging_issues.c.expected, emerging_issues.c.score)
            .where(emerging_issues.c.day >= window.start, emerging_issues.c.day <= window.end,
                   emerging_issues.c.flag)
            .order_by(emerging_issues.c.score.desc())
        ).mappings().all()
    return _with_topic_labels(engine, [dict(row) for row in result])


def _with_topic_labels(engine: Engine, rows: list[dict]) -> list[dict]:
    """Each row with `label`: a topic's label as its pain points of that day carry it, else the key."""
    topics = {(row["day"], int(row["key"])) for row in rows if row["dimension"] == "topic"}
    labels = {}
    if topics:
        with engine.connect() as conn:
            labels = dict(((day, topic), label) for day, topic, label in conn.execute(
                select(pain_points.c.record_date, pain_points.c.topic_id, func.max(pain_points.c.topic_label))
                .where(pain_points.c.record_date.in_(sorted({day for day, _ in topics})),
                       pain_points.c.topic_id.in_(sorted({topic for _, topic in topics})))
                .group_by(pain_points.c.record_date, pain_points.c.topic_id)))
    return [{**row, "label": labels.get((row["day"], int(row["key"])), row["key"])
             if row["dimension"] == "topic" else row["key"]} for row in rows]


def marked(engine: Engine, window: Window, column: Literal["flag", "rising"]) -> set[tuple[date, str, str]]:
    """(day, dimension, key) of the window's rows flagged, or rising."""
    with engine.connect() as conn:
        return {tuple(row) for row in conn.execute(
            select(emerging_issues.c.day, emerging_issues.c.dimension, emerging_issues.c.key)
            .where(emerging_issues.c.day >= window.start, emerging_issues.c.day <= window.end,
                   emerging_issues.c[column]))}


def rising_keys(engine: Engine, window: Window) -> list[dict]:
    """The keys rising on the window's last judged day, the most improbable rise first."""
    in_window = (emerging_issues.c.day >= window.start, emerging_issues.c.day <= window.end)
    with engine.connect() as conn:
        last = conn.execute(select(func.max(emerging_issues.c.day)).where(*in_window)).scalar()
        result = conn.execute(
            select(emerging_issues.c.day, emerging_issues.c.dimension, emerging_issues.c.key,
                   emerging_issues.c.trend_count, emerging_issues.c.trend_expected,
                   emerging_issues.c.trend_p_value)
            .where(emerging_issues.c.day == last, emerging_issues.c.rising)
            .order_by(emerging_issues.c.trend_p_value, emerging_issues.c.dimension, emerging_issues.c.key)
        ).mappings().all()
    return _with_topic_labels(engine, [dict(row) for row in result])

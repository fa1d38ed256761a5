"""The day-by-day schedule of items, the whole sample set in memory, and the three files on disk."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from .chats import make_chat
from .period import (
    APP_UPDATE,
    BASE_COUNTS,
    END,
    KST,
    REVIEW_HOURS,
    SEED,
    SPIKE_END,
    SPIKE_EXTRA,
    SPIKE_START,
    START,
    SURVEY_HOURS,
    TREND_PEAK,
    WEEKDAY_WEIGHTS,
)
from .records import Chat, Review, SampleSet, Survey
from .reviews import make_review
from .surveys import make_survey

T = TypeVar("T")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "samples"


def _days() -> list[date]:
    """Every day of the sample period."""
    return [START + timedelta(days=i) for i in range((END - START).days + 1)]


def _round(rng: random.Random, expected: float) -> int:
    """Stochastic rounding: an integer whose mean is ``expected``."""
    whole = int(expected)
    return whole + (1 if rng.random() < expected - whole else 0)


def daily_plan(rng: random.Random, source: str) -> list[tuple[date, str | None]]:
    """(day, event) for every item of a source: base volume with a weekly pattern plus the events."""
    days = _days()
    weights = [WEEKDAY_WEIGHTS[source][d.weekday()] for d in days]
    per_weight = BASE_COUNTS[source] / sum(weights)
    span = (END - APP_UPDATE).days + 1
    plan: list[tuple[date, str | None]] = []
    for d, w in zip(days, weights, strict=True):
        plan += [(d, None)] * _round(rng, w * per_weight)
        if SPIKE_START <= d <= SPIKE_END:
            plan += [(d, "delivery_spike")] * _round(rng, SPIKE_EXTRA[source] * rng.uniform(0.9, 1.1))
        if d >= APP_UPDATE:
            plan += [(d, "app_update")] * _round(rng, TREND_PEAK[source] * ((d - APP_UPDATE).days + 1) / span)
    return plan


def _timestamp(rng: random.Random, day: date, hours: Sequence[float]) -> datetime:
    """A local time on the day, hour drawn from the profile."""
    hour = rng.choices(range(24), weights=hours)[0]
    return datetime(day.year, day.month, day.day, hour, rng.randint(0, 59), rng.randint(0, 59), tzinfo=KST)


def _unique(seen: set[str], make: Callable[[], T], key: Callable[[T], str]) -> T:
    """Call ``make()`` until ``key(result)`` is new (keeps texts free of exact duplicates)."""
    for _ in range(200):
        result = make()
        k = key(result)
        if k not in seen:
            seen.add(k)
            return result
    raise RuntimeError("could not produce a unique text; widen the templates")


def generate(seed: int = SEED) -> SampleSet:
    """Build all samples in memory, ground truth included. Deterministic for a seed."""
    rng = random.Random(seed)

    reviews: list[Review] = []
    seen: set[str] = set()
    for day, event in daily_plan(rng, "reviews"):
        when = _timestamp(rng, day, REVIEW_HOURS)
        name, stars, text, truth = _unique(
            seen, lambda d=when, e=event: make_review(rng, d, e), lambda r: r[2]
        )
        reviews.append(Review("", when, stars, name, text, truth))
    reviews.sort(key=lambda r: r.written_at)
    reviews = [replace(r, review_no=f"R{i:06d}") for i, r in enumerate(reviews, 1)]

    surveys: list[Survey] = []
    seen = set()
    for day, event in daily_plan(rng, "surveys"):
        when = _timestamp(rng, day, SURVEY_HOURS)
        nps, reason, improve, truth = _unique(
            seen, lambda d=when, e=event: make_survey(rng, d, e), lambda s: s[1]
        )
        surveys.append(Survey("", when, nps, reason, improve, truth))
    surveys.sort(key=lambda s: s.answered_at)
    surveys = [replace(s, resp_id=f"S{i:06d}") for i, s in enumerate(surveys, 1)]

    chats: list[Chat] = []
    seen = set()
    for day, event in daily_plan(rng, "chats"):
        turns, truth = _unique(
            seen,
            lambda d=day, e=event: make_chat(rng, d, e),
            lambda c: "\n".join(t.message for t in c[0] if t.sender == "customer"),
        )
        chats.append(Chat("", tuple(turns), truth))
    chats.sort(key=lambda c: c.started_at)
    chats = [replace(c, chat_id=f"C{i:05d}") for i, c in enumerate(chats, 1)]
    return SampleSet(reviews, surveys, chats)


def write_samples(samples: SampleSet, out_dir: Path) -> dict[str, Path]:
    """Write the three sample files; returns their paths by source name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "reviews": out_dir / "reviews.csv",
        "surveys": out_dir / "surveys.jsonl",
        "chats": out_dir / "chats.csv",
    }
    with open(paths["reviews"], "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["review_no", "written_at", "stars", "product_name", "review_text"])
        writer.writerows(r.row() for r in samples.reviews)
    with open(paths["surveys"], "w", encoding="utf-8", newline="") as fh:
        for s in samples.surveys:
            fh.write(json.dumps(s.row(), ensure_ascii=False) + "\n")
    with open(paths["chats"], "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["chat_id", "sent_at", "sender", "message"])
        for c in samples.chats:
            writer.writerows([c.chat_id, t.sent_at.isoformat(), t.sender, t.message] for t in c.turns)
    return paths


def main(out_dir: Path | str | None = None, seed: int = SEED) -> dict[str, Path]:
    """Generate the samples and write them to ``out_dir`` (default: data/samples)."""
    samples = generate(seed)
    return write_samples(samples, Path(out_dir) if out_dir is not None else DEFAULT_OUT)

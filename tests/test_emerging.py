"""Emerging-issue detection on a real DuckDB warehouse: a spike injected into steady history raises
exactly that flag, on that day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from pipeline.config import EmergingConfig
from pipeline.emerging import flagged, tail_probability, write_emerging
from pipeline.pii import PiiMasker
from pipeline.sources import SourceBatch
from pipeline.warehouse import connect, ensure_schema, replace_window, window_writes
from pipeline.window import Window
from tests.factories import pain_doc

START = date(2026, 9, 1)
DAYS = 45
SPIKE_DAY = START + timedelta(days=40)
CATEGORIES = ("delivery", "quality", "reliability", "staff")


@pytest.fixture
def warehouse(tmp_path):
    # Steady history: 3–5 pain points a day per category (weekly rhythm), touchpoints in turn.
    docs = []
    touchpoints = ["delivery", "usage", "support"]
    for offset in range(DAYS):
        day = START + timedelta(days=offset)
        for category in CATEGORIES:
            for n in range(3 + offset % 7 // 3):
                docs.append(pain_doc(f"{day}-{category}-{n}", day, categories=(category,),
                                     touchpoint=touchpoints[(offset + n) % 3]))
    docs += [pain_doc(f"spike-{n}", SPIKE_DAY, categories=("packaging",), touchpoint="usage")
             for n in range(15)]
    engine = connect(f"duckdb:///{tmp_path / 'sori.duckdb'}")
    ensure_schema(engine)
    window = Window(START, START + timedelta(days=DAYS - 1))
    writes = window_writes([SourceBatch("reviews")], docs, "run", "m", PiiMasker(), False)
    replace_window(engine, window, writes)
    return engine, window


def test_an_injected_spike_raises_exactly_that_flag(warehouse):
    engine, window = warehouse
    assert write_emerging(engine, window) >= 1
    flags = {(row["day"], row["dimension"], row["key"]) for row in flagged(engine, window)}
    assert (SPIKE_DAY, "category", "packaging") in flags
    assert all(day == SPIKE_DAY for day, _, _ in flags), sorted(flags)
    assert not any(key in CATEGORIES for _, dimension, key in flags if dimension == "category")


def test_rerunning_replaces_the_window_rows(warehouse):
    engine, window = warehouse
    write_emerging(engine, window)
    write_emerging(engine, window)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT day, dimension, key, count(*) FROM emerging_issues "
                                 "GROUP BY day, dimension, key HAVING count(*) > 1")).all()
    assert rows == []


def test_a_young_warehouse_flags_nothing(warehouse):
    engine, _ = warehouse
    early = Window(START, START + timedelta(days=5))
    assert write_emerging(engine, early, EmergingConfig(min_baseline_days=14)) == 0


def test_overdispersed_history_is_judged_by_a_negative_binomial():
    steady = [5] * 28
    bursty = [0, 0, 15, 1, 9, 0, 12] * 4
    _, p_steady = tail_probability(15, steady)
    _, p_bursty = tail_probability(15, bursty)
    assert p_steady < 1e-3 < p_bursty

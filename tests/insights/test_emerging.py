"""Emerging-issue detection on a real DuckDB warehouse: a spike injected into steady history raises
exactly that flag, on that day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from pipeline.config import EmergingConfig, load_config
from pipeline.ingest.sources import SourceBatch
from pipeline.insights.emerging import (
    detect,
    flagged,
    judge_key,
    judge_series,
    judge_trend,
    rising_keys,
    tail_probability,
    write_emerging,
)
from pipeline.insights.html_report import NOW_COLOUR, SPIKE_COLOUR, write_report
from pipeline.insights.report import Labels, RunSummary, read_findings, render_markdown
from pipeline.text.pii.masker import PiiMasker
from pipeline.warehouse.schema import connect, ensure_schema
from pipeline.warehouse.writes import RunCounts, replace_window, window_writes
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


def _series(counts: list[int]) -> tuple[dict[date, int], set[date]]:
    days = [START + timedelta(days=i) for i in range(len(counts))]
    return dict(zip(days, counts, strict=True)), set(days)


# Four weeks that vary as feedback does (mean 4, now 1, now 9), then an incident: three times the
# usual complaints for five days.
NOISY = [4, 3, 6, 1, 9, 2, 5, 3, 4, 8, 2, 1, 6, 4, 3, 7, 2, 5, 4, 1, 9, 3, 4, 2, 6, 5, 3, 4]
SURGE = [13, 12, 14, 12, 13]


def test_a_surge_over_days_is_flagged_when_each_day_alone_is_not_improbable_enough():
    series, mined = _series(NOISY + SURGE)
    surge_days = sorted(series)[len(NOISY):]
    day_alone = EmergingConfig(window_days=1)
    assert not any(judge_series(series, mined, day, day_alone)["flag"] for day in surge_days)

    judged = [judge_series(series, mined, day, EmergingConfig()) for day in surge_days]
    # Found on its third day, the first on which the window holds only the incident. The days after
    # are judged against a baseline that holds its first days, and pass for ordinary...
    assert [row["flag"] for row in judged] == [False, False, True, False, False]
    assert judged[2]["window_count"] == 13 + 12 + 14
    assert judged[2]["window_p_value"] < EmergingConfig().max_window_p_value < judged[2]["p_value"]
    # ...but they carry on the incident flagged on the third: still above its expected count, twice it
    # with the unflagged days of their window.
    assert _flags(NOISY + SURGE) == [(False, False), (False, False), (True, False),
                                     (True, True), (True, True)]


def _flags(counts: list[int]) -> list[tuple[bool, bool]]:
    """(flag, continues) of the days after NOISY, as the detector judges a key's days in order."""
    series, mined = _series(counts)
    judged = judge_key(series, mined, sorted(series), EmergingConfig())
    return [(judged[day]["flag"], judged[day]["continues"]) for day in sorted(series)[len(NOISY):]]


def test_a_lull_does_not_end_an_incident_and_an_ordinary_day_does():
    assert [flag for flag, _ in _flags(NOISY + [13, 12, 14, 8, 13])] == [False, False, True, True, True]
    assert [flag for flag, _ in _flags(NOISY + [13, 12, 14, 3, 13])] == [False, False, True, False, False]


def test_the_days_after_a_one_day_spike_are_not_flagged():
    series, mined = _series(NOISY + [30, 4, 3])
    days = sorted(series)[len(NOISY):]
    flags = [judge_series(series, mined, day, EmergingConfig())["flag"] for day in days]
    assert flags == [True, False, False]
    assert _flags(NOISY + [30, 4, 3]) == [(True, False), (False, False), (False, False)]
    # 9 the day after is above the expected count but alone, not twice it: no incident goes on
    assert _flags(NOISY + [30, 9, 3]) == [(True, False), (False, False), (False, False)]


# Two more weeks as noisy, with pain growing by one a day every other day.
RAMP = [n + i // 2 for i, n in enumerate(NOISY[:14])]


def test_pain_growing_for_two_weeks_is_rising_though_no_day_is_flagged():
    series, mined = _series(NOISY + RAMP)
    days = sorted(series)[len(NOISY):]
    settings = EmergingConfig()
    assert not any(judge_series(series, mined, day, settings)["flag"] for day in days)
    trend = [judge_trend(series, mined, day, settings) for day in days]
    assert [row["rising"] for row in trend] == [False] * 12 + [True, True]
    assert trend[-1]["trend_count"] == sum(RAMP)
    assert trend[-1]["trend_count"] > settings.trend_min_ratio * trend[-1]["trend_expected"]

    steady, mined = _series(NOISY + NOISY[:14])
    assert not any(judge_trend(steady, mined, day, settings)["rising"] for day in sorted(steady)[len(NOISY):])


def test_a_flagged_spike_does_not_make_its_key_rising_for_the_weeks_after():
    series, mined = _series(NOISY + [40] + NOISY[:13])
    days = sorted(series)[len(NOISY):]
    settings = EmergingConfig()
    spikes = {day for day in days if judge_series(series, mined, day, settings)["flag"]}
    assert spikes == {days[0]}
    assert not any(judge_trend(series, mined, day, settings, spikes)["rising"] for day in days)
    # counted in, the spike alone would have the key rising
    assert any(judge_trend(series, mined, day, settings)["rising"] for day in days)


@pytest.fixture
def ramp_warehouse(warehouse_url):
    """Reliability growing as RAMP after four noisy weeks, delivery steady, and a packaging spike on the
    last day; in DuckDB and in PostgreSQL."""
    docs = []
    for offset, n in enumerate(NOISY + RAMP):
        day = START + timedelta(days=offset)
        docs += [pain_doc(f"{day}-rel-{i}", day, categories=("reliability",), touchpoint="usage")
                 for i in range(n)]
        docs += [pain_doc(f"{day}-del-{i}", day, categories=("delivery",)) for i in range(3)]
    history = Window(START, START + timedelta(days=len(NOISY + RAMP) - 1))
    docs += [pain_doc(f"spike-{i}", history.end, categories=("packaging",), touchpoint="usage")
             for i in range(15)]
    engine = connect(warehouse_url)
    ensure_schema(engine)
    writes = window_writes([SourceBatch("reviews")], docs, "run", "m", PiiMasker(), False)
    replace_window(engine, history, writes)
    last_day = Window(history.end, history.end)
    write_emerging(engine, last_day)
    yield engine, last_day
    engine.dispose()


def test_a_key_rising_in_the_warehouse_is_reported(ramp_warehouse):
    engine, last_day = ramp_warehouse
    rising = {(r["dimension"], r["key"]) for r in rising_keys(engine, last_day)}
    assert rising == {("category", "reliability"), ("touchpoint", "usage")}
    rows = {(r["dimension"], r["key"]): r for r in detect(engine, last_day)}
    assert rows["category", "reliability"]["trend_count"] == sum(RAMP)
    assert rows["category", "delivery"]["rising"] is False
    assert rows["category", "packaging"]["flag"] and not rows["category", "packaging"]["rising"]

    summary = RunSummary("run", last_day, RunCounts(), 1.0)
    labels = Labels.of(load_config().load_taxonomy())
    markdown = render_markdown(summary, read_findings(engine, last_day, ["reviews"], labels))
    day = f"{last_day.end.month}월 {last_day.end.day}일"
    rising_section = markdown.split("## 꾸준히 늘어나는 불편")[1].split("\n## ")[0]
    assert f"| {day} | 불편 유형 | {labels.category('reliability')} | {sum(RAMP)}건 |" in rising_section
    emerging_section = markdown.split("## 급증 이슈")[1].split("## 꾸준히 늘어나는 불편")[0]
    assert f"| {day} | 불편 유형 | {labels.category('packaging')} | 15건 |" in emerging_section
    assert f"| {day} | 토픽 | 미분류 |" in emerging_section  # a topic by its label too


def test_the_html_report_marks_emerging_issues_and_lists_rising_keys(ramp_warehouse, tmp_path):
    engine, last_day = ramp_warehouse
    summary = RunSummary("run-1234", last_day, RunCounts(), 1.0)
    findings = read_findings(engine, last_day, ["reviews"])
    report = write_report(engine, summary, tmp_path / "reports", None, findings)
    page = report.read_text(encoding="utf-8")
    rising_section = page.split("<h2>꾸준히 늘어나는 불편")[1].split("<h2>")[0]
    assert "<td title='reliability'>" in rising_section and f"<td>{sum(RAMP)}건</td>" in rising_section
    assert "<td title='packaging'>" not in rising_section
    # the spike's day drawn red in the packaging's small daily chart
    assert f'"marker":{{"color":["{NOW_COLOUR}"' in page and f'"{SPIKE_COLOUR}"]' in page
    # the run's story, as in the summary artifact: the spike and the evidence to read first
    assert "<td title='packaging'>" in page.split("<h2>급증 이슈")[1].split("<h2>")[0]
    assert "<td>배송이 늦어요.</td>" in page.split("<h2>먼저 읽어 볼 불편")[1]


def test_a_warehouse_made_before_the_window_columns_gains_them(tmp_path):
    engine = connect(f"duckdb:///{tmp_path / 'old.duckdb'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE emerging_issues (day DATE, dimension VARCHAR(16), key VARCHAR(256), "
                          "count INTEGER NOT NULL, expected FLOAT NOT NULL, p_value FLOAT NOT NULL, "
                          "score FLOAT NOT NULL, flag BOOLEAN NOT NULL, computed_at TIMESTAMPTZ NOT NULL, "
                          "PRIMARY KEY (day, dimension, key))"))
        conn.execute(text("INSERT INTO emerging_issues VALUES ('2026-09-01', 'category', 'delivery', 3, 2.5, "
                          "0.4, 0.4, false, '2026-09-02 00:00:00+00')"))
    ensure_schema(engine)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT count, window_count, window_p_value, continues, trend_count, rising "
                                "FROM emerging_issues")).one()
    assert tuple(row) == (3, None, None, None, None, None)


def test_a_sparse_key_needs_more_than_a_thin_baseline_to_be_rising():
    # One complaint in four weeks, then six in two: improbable if the baseline's rate were known.
    series, mined = _series([0] * 27 + [1] + [0, 1, 0, 0, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0])
    last = max(series)
    settings = EmergingConfig()
    assert judge_trend(series, mined, last, settings)["rising"]
    thin = judge_trend(series, mined, last, settings, sparse=True)
    assert not thin["rising"] and thin["trend_p_value"] > settings.max_trend_p_value
    busier, mined = _series([0] * 27 + [1] + [1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1])
    assert judge_trend(busier, mined, max(busier), settings, sparse=True)["rising"]


def test_a_product_counts_the_records_that_complain_not_their_pain_points(warehouse_url):
    engine = connect(warehouse_url)
    ensure_schema(engine)
    days = [START + timedelta(days=i) for i in range(30)]
    docs = [pain_doc(f"quiet-{day}", day, "후기", product="성수점", pain=False) for day in days]
    docs += [pain_doc("C1", days[-1], f"{n}번째 불만이에요", source="chats", kind="chat", product="성수점",
                      part=f"turn{n}") for n in range(6)]
    docs += [pain_doc(f"burnt-{n}", days[-1], product="해담농원") for n in range(5)]
    batches = [SourceBatch("reviews"), SourceBatch("chats")]
    replace_window(engine, Window(days[0], days[-1]), window_writes(batches, docs, "run", "m", PiiMasker(),
                                                                     False))
    rows = {(r["dimension"], r["key"]): r for r in detect(engine, Window(days[-1], days[-1]))}
    assert rows["product", "성수점"]["count"] == 1 and not rows["product", "성수점"]["flag"]
    assert rows["product", "해담농원"]["count"] == 5 and rows["product", "해담농원"]["flag"]
    engine.dispose()

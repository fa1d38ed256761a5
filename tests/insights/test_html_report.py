"""The HTML report as a CX manager reads it, rendered from a real DuckDB warehouse written through the
real write path: Korean headings and the taxonomy's labels, keys only in tooltips, no test statistics,
an emerging issue with customers' words under it, small daily charts instead of overlapping lines."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser

import pytest

from pipeline.config import ReportsConfig, load_config
from pipeline.ingest.sources import SourceBatch
from pipeline.insights.emerging import write_emerging
from pipeline.insights.html_report import (
    NOW_COLOUR,
    SPIKE_COLOUR,
    daily_by_category,
    trend_chart,
    write_report,
)
from pipeline.insights.report import Labels, RunSummary, read_findings, render_markdown
from pipeline.text.pii.masker import PiiMasker
from pipeline.warehouse.schema import connect, ensure_schema
from pipeline.warehouse.writes import RunCounts, replace_window, window_writes
from pipeline.window import Window
from tests.factories import pain_doc

START = date(2026, 9, 20)
LAST = date(2026, 10, 22)
SPIKE_TEXT = "상자가 다 찢어져서 왔어요. 그래도 감사해요"
STEADY = {"delivery": ("배송이 늦어요. 좋아요", "delivery"),
          "reliability": ("앱이 자꾸 멈춰요. 좋아요", "usage")}


class VisibleText(HTMLParser):
    """The text a browser shows: everything outside <script>, <style> and attribute values."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in ("script", "style")

    def handle_endtag(self, tag):
        self.hidden -= tag in ("script", "style")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible(page: str) -> str:
    parser = VisibleText()
    parser.feed(page)
    return " ".join(parser.parts)


@pytest.fixture
def labels() -> Labels:
    return Labels.of(load_config().load_taxonomy())


@pytest.fixture
def warehouse(tmp_path):
    """A month of steady delivery and reliability pain, then packaging spiking on the last day."""
    docs = []
    for offset in range((LAST - START).days + 1):
        day = START + timedelta(days=offset)
        for category, (text, touchpoint) in STEADY.items():
            docs += [pain_doc(f"{day}-{category}-{i}", day, text, categories=(category,),
                              touchpoint=touchpoint) for i in range(3 + offset % 3)]
    docs += [pain_doc(f"spike-{i}", LAST, SPIKE_TEXT, categories=("packaging",)) for i in range(12)]
    engine = connect(f"duckdb:///{tmp_path / 'sori.duckdb'}")
    ensure_schema(engine)
    history = Window(START, LAST)
    replace_window(engine, history,
                   window_writes([SourceBatch("reviews")], docs, "run", "m", PiiMasker(), False))
    write_emerging(engine, history)
    yield engine
    engine.dispose()


def test_the_report_speaks_the_taxonomys_korean_and_keeps_keys_in_tooltips(warehouse, labels, tmp_path):
    window = Window(date(2026, 10, 20), LAST)
    findings = read_findings(warehouse, window, ["reviews"], labels, examples=2)
    summary = RunSummary("run-abcdef12", window, RunCounts(records_read=99, feedback_rows=90), 3.0)
    report = write_report(warehouse, summary, tmp_path / "reports", None, findings, ReportsConfig(),
                          ["reviews"])
    page = report.read_text(encoding="utf-8")
    shown = visible(page)

    for key in ("delivery", "reliability", "packaging"):
        assert labels.category(key) != key and labels.category(key) in shown
        assert f"title='{key}'" in page  # the key is still there for whoever hovers
    assert labels.touchpoint("usage") in shown
    taxonomy_keys = {*labels.categories, *labels.touchpoints}
    assert not taxonomy_keys & set(re.findall(r"[a-z_]+", shown)), "a key shows as a label"
    assert "2026년 10월 20일–22일" in shown
    for heading in ("불편 유형별 건수", "고객 여정 단계별 불편", "급증 이슈", "먼저 읽어 볼 불편"):
        assert f"<h2>{heading}" in page
    assert not re.search(r"\bp\b|p-value|q ≤|score", shown)  # plain words instead of statistics

    emerging = page.split("<h2>급증 이슈")[1].split("<h2>")[0]
    assert f"title='packaging'>{labels.category('packaging')}</td>" in emerging
    assert "평소보다" in emerging and "배" in emerging
    quotes = re.findall(r"<li>“(.*?)”</li>", emerging)
    assert quotes and len(quotes) <= 2 * emerging.count("<tr class='quotes'>")
    assert "상자가 다 찢어져서 왔어요." in quotes

    # the journey in the taxonomy's order, whatever the counts
    journey = page.split("<h2>고객 여정 단계별 불편")[1].split("<h2>")[0]
    order = [key for key in labels.touchpoints if f"title='{key}'" in journey]
    assert order == sorted(order, key=list(labels.touchpoints).index) and len(order) == 2

    # offline: plotly.js is loaded from beside the report, once
    assert (report.parent / "plotly.min.js").stat().st_size > 1_000_000
    assert page.count('src="plotly.min.js"') == 1

    # the Prefect summary artifact says the same, in the same labels and headings
    markdown = render_markdown(summary, findings)
    assert "## 급증 이슈" in markdown and labels.category("packaging") in markdown
    assert "상자가 다 찢어져서 왔어요." in markdown


def test_the_daily_trend_is_one_small_chart_per_top_category_with_spikes_in_red(warehouse, labels):
    trend = Window(LAST - timedelta(days=27), LAST)
    spikes = {(LAST, "category", "packaging")}
    fig = trend_chart(daily_by_category(warehouse, trend), trend, labels, spikes, count=2)
    assert [trace.name for trace in fig.data] == [labels.category("delivery"), labels.category("reliability")]
    assert {trace.xaxis for trace in fig.data} == {"x", "x2"}  # side by side, not overlapping
    assert all(len(trace.x) == trend.days() for trace in fig.data)  # quiet days are zeros, not gaps

    fig = trend_chart(daily_by_category(warehouse, trend), trend, labels, spikes, count=6)
    packaging = next(trace for trace in fig.data if trace.name == labels.category("packaging"))
    assert packaging.marker.color[-1] == SPIKE_COLOUR and set(packaging.marker.color[:-1]) == {NOW_COLOUR}
    titles = [annotation.text for annotation in fig.layout.annotations]
    assert titles == [trace.name for trace in fig.data]

    one_day = Window(LAST, LAST)
    fig = trend_chart(daily_by_category(warehouse, trend), trend, labels, spikes, count=2, window=one_day)
    [shade] = {(shape.x0, shape.x1) for shape in fig.layout.shapes}
    assert shade == (datetime.combine(LAST, time()) - timedelta(hours=12),
                     datetime.combine(LAST, time()) + timedelta(hours=12))  # a whole bar wide, not zero

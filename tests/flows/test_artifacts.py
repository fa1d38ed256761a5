"""What the artifacts publish: string cells as literal text, links only to http(s)."""

from __future__ import annotations

import pytest

from flows import artifacts
from flows.artifacts import literal_rows, publish_link


@pytest.fixture
def published(monkeypatch) -> list[tuple[str, dict]]:
    calls: list[tuple[str, dict]] = []
    monkeypatch.setattr(artifacts, "create_link_artifact", lambda **kw: calls.append(("link", kw)))
    monkeypatch.setattr(artifacts, "create_markdown_artifact", lambda **kw: calls.append(("markdown", kw)))
    return calls


@pytest.mark.parametrize("url", ["javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,<script>",
                                 "file:///srv/sori/reports/sori-run.html", "vbscript:msgbox",
                                 "//evil.example", "reports/sori-run.html", "https:///no-host"])
def test_only_http_links_are_published_as_links(published, url):
    publish_link("sori-html-report", url, "report_[1].html", "the report")
    ((kind, call),) = published
    assert kind == "markdown" and "link" not in call
    assert call["markdown"].startswith("report\\_\\[1\\].html: ")


@pytest.mark.parametrize("url", ["https://reports.example.com/sori/run.html", "HTTP://127.0.0.1:8080/r.html"])
def test_a_web_link_is_a_link_artifact(published, url):
    publish_link("sori-html-report", url, "run.html", "the report")
    assert published == [("link", {"key": "sori-html-report", "link": url, "link_text": "run.html",
                                   "description": "the report"})]


def test_table_cells_that_are_strings_show_as_written():
    rows = literal_rows([{"key": "[지금 클릭](javascript:alert(1))", "label": "<img src=x onerror=alert(1)>",
                          "count": 3, "share": -0.5, "day": None}])
    assert rows == [{"key": "\\[지금 클릭\\]\\(javascript:alert\\(1\\)\\)",
                     "label": "\\<img src=x onerror=alert\\(1\\)\\>", "count": 3, "share": -0.5, "day": None}]


def test_a_story_table_artifact_has_korean_columns_and_labels_with_keys_in_a_small_column():
    from datetime import date

    from pipeline.insights.report import Findings, Labels, RunSummary, story
    from pipeline.warehouse.writes import RunCounts
    from pipeline.window import Window

    day = date(2026, 10, 22)
    findings = Findings(changes=[{"category": "delivery", "touchpoint": "delivery", "pain_points": 3,
                                  "previous_period": 1, "change": 2, "change_pct": 200.0}],
                        previous_mined=True, top=[], emerging=[], rising=[], costs=[], products=[],
                        labels=Labels({"delivery": "배송"}, {"delivery": "배송·수령"}))
    journey = next(s for s in story(RunSummary("run", Window(day, day), RunCounts(), 1.0), findings)
                   if s.title == "고객 여정 단계별 불편")
    assert artifacts.section_rows(journey) == [{
        "고객 여정 단계": "배송·수령", "이번 기간": "3", "직전 기간": "1", "변화": "+2 \\(3.0배\\)",
        "많이 나온 불편": "배송 3", "키": "delivery"}]

"""The run's story as markdown (the Prefect summary artifact) shows hostile text as text: no HTML, no
image, no link, no broken table."""

from __future__ import annotations

from datetime import date

import pytest
from markdown_it import MarkdownIt

from pipeline.inert import markdown_text
from pipeline.insights.report import Findings, RunSummary, render_markdown
from pipeline.warehouse.writes import RunCounts
from pipeline.window import Window

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(document.cookie)</script>",
    "[지금 클릭](javascript:alert(1))",
    "![사진](javascript:alert(1))",
    "<javascript:alert(1)>",
    "[참조][1]\n\n[1]: javascript:alert(1)",
    "&lt;script&gt;alert(1)&lt;/script&gt; &#106;avascript:",
    "**굵게** _기울임_ `코드` ~~취소~~ \\ 역슬래시",
    "칸을 | 나누고\n| 가짜 | 행 |\n# 제목이 되려는 줄",
]
DAY = date(2026, 10, 21)


def rendered(markdown: str) -> str:
    """The HTML a CommonMark renderer with GFM tables makes of it."""
    return MarkdownIt("commonmark").enable("table").render(markdown)


def shown(text: str) -> str:
    """`text` as the renderer writes plain text into HTML, line breaks turned into spaces."""
    text = " ".join(text.splitlines())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_text_is_shown_as_written_and_never_becomes_markup(payload):
    html = rendered(f"| evidence |\n|---|\n| {markdown_text(payload)} |\n")
    assert f"<td>{shown(payload)}</td>" in html
    for markup in ("<img", "<script", "<a ", "<strong", "<em", "<code", "<s>", "<h1", "href="):
        assert markup not in html


def test_every_cell_of_the_story_that_carries_data_is_literal():
    window = Window(DAY, DAY)
    payload = HOSTILE[2]
    findings = Findings(
        changes=[{"category": payload, "touchpoint": payload, "pain_points": 3, "previous_period": 1,
                  "change": 2, "change_pct": 200.0}],
        previous_mined=True,
        top=[{"record_date": DAY, "source": "reviews", "primary_category": "delivery",
              "touchpoint": "delivery", "severity": 5, "response_needed": True, "topic_label": payload,
              "evidence": HOSTILE[0], "pain_probability": 0.9}],
        emerging=[{"day": DAY, "dimension": "product", "key": payload, "label": HOSTILE[1], "count": 9,
                   "expected": 1.0, "score": 7.0}],
        rising=[],
        costs=[],
        products=[{"month": DAY.replace(day=1), "source": "reviews", "product": payload, "records": 10,
                   "records_with_pain": 8, "rest_share": 0.2, "excess": 6.0, "avg_rating": 2.4,
                   "top_category": payload, "q_value": 0.001}],
    )
    markdown = render_markdown(RunSummary("run", window, RunCounts(), 1.0), findings)
    html = rendered(markdown)
    for markup in ("<img", "<script", "<a ", "href="):
        assert markup not in html
    # the payload as category (three tables), touchpoint (two), topic, product and top category
    assert html.count(shown(payload)) == 8 and shown(HOSTILE[0]) in html and shown(HOSTILE[1]) in html
    # the tables keep their shape: a header row and one row of as many cells each
    for table in html.split("<table>")[1:]:
        rows = table.split("</table>")[0].count("<tr>")
        assert rows == 2, table

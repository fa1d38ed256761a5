"""Prefect artifacts that let an analyst see what a run found without opening the database.

The Prefect UI renders markdown artifacts, and every string cell of a table artifact, as markdown: each
string that comes from data is published as literal text (`markdown_text`), and only http(s) links are
published as links.
"""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from pipeline.inert import is_web_link, markdown_text
from pipeline.insights.report import (
    Findings,
    RunSummary,
    Section,
    change_words,
    headline,
    korean_period,
    reconciliation,
    render_markdown,
    story,
)
from pipeline.insights.report_server import ReportFile


def literal_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Table artifact rows whose string cells show as written; other values unchanged."""
    return [{key: markdown_text(value) if isinstance(value, str) else value for key, value in row.items()}
            for row in rows]


def publish_link(key: str, url: str, text: str, description: str) -> None:
    """A link artifact for an http(s) URL. Any other location (a local file's `file:` URI, which a
    browser will not open from the UI's page anyway) is published as text to copy, never as a link."""
    if is_web_link(url):
        create_link_artifact(key=key, link=url, link_text=text, description=description)
    else:
        create_markdown_artifact(key=key, markdown=f"{markdown_text(text)}: {markdown_text(url)}",
                                 description=description)


def section_rows(section: Section) -> list[dict[str, str]]:
    """A table of the run's story as table artifact rows, its Korean header as the columns and the
    warehouse keys behind its labels in a last, small column."""
    rows = []
    for cells in section.shown_rows:
        row = {name: cell.text for name, cell in zip(section.header, cells, strict=True)}
        rows.append({**row, "키": " ".join(cell.key for cell in cells if cell.key)})
    return literal_rows(rows)


@task(name="publish-artifacts", cache_policy=NO_CACHE)
def publish_artifacts(summary: RunSummary, findings: Findings, report: ReportFile) -> None:
    """The story of a window as Prefect artifacts, in the HTML report's Korean headings and labels:
    tables, the summary and the report's link (its web address when the reports are served, else its
    path as text to copy)."""
    period = korean_period(summary.window.start, summary.window.end)
    sections = {section.title: section for section in story(summary, findings)}
    journey, emerging = sections["고객 여정 단계별 불편"], sections["급증 이슈"]
    labels = findings.labels
    create_table_artifact(
        key="sori-pain-by-category-touchpoint",
        table=literal_rows([{"불편 유형": labels.category(r["category"]),
                             "고객 여정 단계": labels.touchpoint(r["touchpoint"]),
                             "이번 기간": r["pain_points"],
                             "직전 기간": r["previous_period"] if findings.previous_mined else None,
                             "변화": change_words(r["pain_points"], r["previous_period"])
                             if findings.previous_mined else "–",
                             "키": f"{r['category']} {r['touchpoint']}"} for r in findings.changes]),
        description=f"불편 유형 × 고객 여정 단계별 불편 문장, {period}"
                    + (", 직전 기간과 비교" if findings.previous_mined
                       else " (직전 기간은 분석한 글이 없어 비교 없음)"),
    )
    create_table_artifact(key="sori-journey", table=section_rows(journey),
                          description=f"{journey.title}, {period}: {journey.note}")
    create_table_artifact(key="sori-emerging-issues", table=section_rows(emerging),
                          description=f"{emerging.title}, {period}: 지난 몇 주의 평소 수준을 크게 넘은 날")
    create_table_artifact(
        key="sori-reconciliation",
        table=[{what: value for what, value in reconciliation(summary)}
               | {"분석에 쓴 기록": f"{summary.counts.records_loaded:,}"}],
        description=f"집계, {period}: 읽은 기록 = 분석에 쓴 기록 + 제외한 기록",
    )
    create_markdown_artifact(key="sori-run-summary", markdown=render_markdown(summary, findings),
                             description=f"{headline(summary)}")
    publish_link("sori-html-report", report.url or report.path.resolve().as_uri(), report.path.name,
                 f"고객 불편 리포트 (추이, 토픽 지도), {period}")

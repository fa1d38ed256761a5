"""Prefect artifacts that let an analyst see what a run found without opening the database.

The Prefect UI renders markdown artifacts, and every string cell of a table artifact, as markdown: each
string that comes from data is published as literal text (`markdown_text`), and only http(s) links are
published as links.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from pipeline.inert import is_web_link, markdown_text
from pipeline.insights.report import Findings, RunSummary, render_markdown


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


@task(name="publish-artifacts", cache_policy=NO_CACHE)
def publish_artifacts(summary: RunSummary, findings: Findings, report: Path) -> None:
    """The story of a window as Prefect artifacts: tables, the summary and where the HTML report is."""
    period = f"{summary.window.start} … {summary.window.end}"
    create_table_artifact(
        key="sori-pain-by-category-touchpoint",
        table=literal_rows(findings.changes),
        description=f"Pain points per category × touchpoint, {period}, against the previous period"
                    + ("" if findings.previous_mined else " (never mined: nothing to compare with)"),
    )
    create_table_artifact(
        key="sori-emerging-issues",
        table=literal_rows([{**row, "day": str(row["day"])} for row in findings.emerging]
                           or [{"day": "", "dimension": "none"}]),
        description=f"Emerging issues flagged in {period} (count far above its trailing baseline)",
    )
    create_table_artifact(
        key="sori-reconciliation",
        table=[{
            "records_read": summary.counts.records_read,
            "records_loaded": summary.counts.records_loaded,
            "records_quarantined": summary.counts.records_quarantined,
            "feedback_rows": summary.counts.feedback_rows,
            "sentences": summary.counts.sentences,
            "pain_points": summary.counts.pain_points,
        }],
        description=f"Reconciliation for {period}: read = loaded + quarantined",
    )
    create_markdown_artifact(key="sori-run-summary", markdown=render_markdown(summary, findings),
                             description=f"What sori found in {period}")
    publish_link("sori-html-report", report.resolve().as_uri(), report.name,
                 f"The run's story, trends and topic map, {period}")

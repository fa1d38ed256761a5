"""Prefect artifacts that let an analyst see what a run found without opening the database."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from pipeline.insights.report import Findings, RunSummary, render_markdown


@task(name="publish-artifacts", cache_policy=NO_CACHE)
def publish_artifacts(summary: RunSummary, findings: Findings, report: Path) -> None:
    """The story of a window as Prefect artifacts: tables, the summary and a link to the HTML report."""
    period = f"{summary.window.start} … {summary.window.end}"
    create_table_artifact(
        key="sori-pain-by-category-touchpoint",
        table=findings.changes,
        description=f"Pain points per category × touchpoint, {period}, against the previous period"
                    + ("" if findings.previous_mined else " (never mined: nothing to compare with)"),
    )
    create_table_artifact(
        key="sori-emerging-issues",
        table=([{**row, "day": str(row["day"])} for row in findings.emerging]
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
    create_link_artifact(key="sori-html-report", link=report.resolve().as_uri(),
                         link_text=report.name,
                         description=f"The run's story, trends and topic map, {period}")

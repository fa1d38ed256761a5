"""A static HTML report per run, written next to the warehouse, for readers without the Prefect UI: the
run's story (the same tables as its summary artifact: increases, emerging issues, rising keys, what pain
costs, products with more pain than the rest, the most severe pain points), trends by category and
topic over the last 90 days with the categories' emerging issues marked, and the topic map. It opens
offline (plotly.js is written once beside the reports)."""

from __future__ import annotations

import html
from datetime import timedelta
from pathlib import Path

import pandas as pd
import plotly.express as px
from plotly.offline import get_plotlyjs
from sqlalchemy import Engine, func, select

from pipeline.insights.emerging import flagged
from pipeline.insights.report import Findings, RunSummary, Section, story
from pipeline.topics.model import TopicModel
from pipeline.warehouse.schema import pain_point_categories, pain_points
from pipeline.window import Window

TREND_DAYS = 90
TOP_TOPICS = 8


def _daily(engine: Engine, window: Window, column, join_categories: bool) -> pd.DataFrame:
    query = select(pain_points.c.record_date.label("day"), column.label("key"), func.count().label("n"))
    if join_categories:
        query = query.join(pain_point_categories,
                           pain_point_categories.c.pain_point_id == pain_points.c.pain_point_id)
    query = query.where(pain_points.c.record_date >= window.start, pain_points.c.record_date <= window.end)
    with engine.connect() as conn:
        rows = conn.execute(query.group_by(pain_points.c.record_date, column)).all()
    # Typed even when empty: a window without pain points still gets its (empty) report.
    frame = pd.DataFrame(rows, columns=["day", "key", "n"]).astype({"n": "int64"})
    return frame.sort_values(["day", "key"])


def write_report(engine: Engine, summary: RunSummary, directory: Path, topic_model: TopicModel | None,
                 findings: Findings) -> Path:
    trend = Window(summary.window.end - timedelta(days=TREND_DAYS - 1), summary.window.end)
    by_category = _daily(engine, trend, pain_point_categories.c.category, join_categories=True)
    by_topic = _daily(engine, trend, pain_points.c.topic_label, join_categories=False)
    top = by_topic.groupby("key")["n"].sum().nlargest(TOP_TOPICS).index
    categories = px.line(by_category, x="day", y="n", color="key", markers=True,
                         title="Pain points per day by category (× an emerging issue)",
                         labels={"n": "pain points", "key": "category"})
    spikes = [row for row in flagged(engine, trend) if row["dimension"] == "category"]
    if spikes:
        categories.add_scatter(x=[r["day"] for r in spikes], y=[r["count"] for r in spikes],
                               text=[r["key"] for r in spikes], mode="markers", name="emerging issue",
                               marker={"symbol": "x", "size": 12, "color": "black"})
    figures = [
        categories,
        px.line(by_topic[by_topic["key"].isin(top)], x="day", y="n", color="key", markers=True,
                title=f"Pain points per day, top {TOP_TOPICS} topics",
                labels={"n": "pain points", "key": "topic"}),
    ]
    notes = []
    if topic_model is not None:
        try:
            figures.append(topic_model.model.visualize_topics(title="Topic map"))
        except (ValueError, TypeError, IndexError) as exc:
            notes.append(f"The topic map needs more topics than this model has ({exc}).")
    directory.mkdir(parents=True, exist_ok=True)
    plotly_js = directory / "plotly.min.js"
    if not plotly_js.exists():
        plotly_js.write_text(get_plotlyjs(), encoding="utf-8")
    path = directory / f"sori-{summary.window.start}-{summary.window.end}-{summary.run_id[:8]}.html"
    parts = [fig.to_html(full_html=False, include_plotlyjs="directory" if i == 0 else False)
             for i, fig in enumerate(figures)]
    body = "\n".join([
        f"<h1>sori run {summary.window.start} … {summary.window.end}</h1>",
        f"<pre>{html.escape(summary.render())}</pre>",
        *[f"<p>{html.escape(note)}</p>" for note in notes],
        *[_section_html(section) for section in story(summary, findings)],
        *parts,
    ])
    path.write_text(f"<!doctype html><html lang='ko'><head><meta charset='utf-8'><title>sori "
                    f"{summary.window.start}</title></head><body>{body}</body></html>", encoding="utf-8")
    return path


def _section_html(section: Section) -> str:
    def row(cells: list[str], tag: str) -> str:
        return "<tr>" + "".join(f"<{tag}>{html.escape(cell)}</{tag}>" for cell in cells) + "</tr>"

    rows = [row(cells, "td") for cells in section.shown_rows]
    return (f"<h2>{html.escape(section.title)}</h2>\n<table border='1'>{row(section.header, 'th')}"
            f"{''.join(rows)}</table>")

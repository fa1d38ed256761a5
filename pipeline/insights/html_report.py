"""A static HTML report per run, written beside the warehouse, for a CX manager without the Prefect UI.

It tells the run's story (the same sections, Korean headings and taxonomy labels as its summary
artifact: top pains against the previous period, the journey by touchpoint, emerging issues with
customers' masked words, rising pain, what pain costs in stars and NPS, products that hurt most, what to
read first) under cards with the run's counts, and draws charts that read at a glance: the top
categories and topics as horizontal bars, one small daily chart per top category with its emerging days
marked, and the topic map with each topic's label on it. Keys show only in tooltips. It opens offline:
plotly.js is written once beside the reports.
"""

from __future__ import annotations

import html
import math
from datetime import datetime, time, timedelta
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots
from sqlalchemy import Engine, func, select

from pipeline.config import ReportsConfig
from pipeline.insights.emerging import flagged
from pipeline.insights.report import (
    Cell,
    Findings,
    Labels,
    RunSummary,
    Section,
    category_totals,
    headline,
    korean_period,
    reconciliation,
    story,
)
from pipeline.topics.model import TopicModel
from pipeline.warehouse.schema import pain_point_categories, pain_points
from pipeline.window import Window

FONT = "'Noto Sans CJK KR', 'Noto Sans KR', 'Apple SD Gothic Neo', 'Malgun Gothic', sans-serif"
NOW_COLOUR, BEFORE_COLOUR, SPIKE_COLOUR = "#2f6fb0", "#c5d3e3", "#d9534f"
CHART_CONFIG = {"displayModeBar": False, "responsive": True}

STYLE = f"""
body {{ font-family: {FONT}; color: #1f2933; background: #f5f7fa; margin: 0; line-height: 1.55; }}
main {{ max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }}
h1 {{ font-size: 26px; margin: 8px 0 4px; }}
h2 {{ font-size: 20px; margin: 36px 0 6px; padding-bottom: 6px; border-bottom: 2px solid #d8dee6; }}
.meta {{ color: #616e7c; font-size: 13px; margin: 0 0 18px; }}
.note {{ color: #52606d; font-size: 14px; margin: 4px 0 10px; }}
.cards {{ display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0 8px; }}
.card {{ background: #fff; border-radius: 10px; padding: 12px 18px; min-width: 130px; flex: 1 1 130px;
         box-shadow: 0 1px 3px rgba(15, 30, 50, .12); }}
.card .value {{ font-size: 26px; font-weight: 700; }}
.card .what {{ font-size: 13px; color: #616e7c; }}
.card.alert .value {{ color: {SPIKE_COLOUR}; }}
table {{ width: 100%; border-collapse: collapse; background: #fff; font-size: 14px; table-layout: auto;
         box-shadow: 0 1px 3px rgba(15, 30, 50, .12); border-radius: 8px; overflow: hidden; }}
th {{ background: #e9eef4; text-align: left; font-weight: 600; padding: 8px 10px; white-space: nowrap; }}
td {{ padding: 7px 10px; border-top: 1px solid #edf0f3; vertical-align: top; white-space: normal;
      word-break: keep-all; overflow-wrap: anywhere; }}
td[title] {{ text-decoration: underline dotted #9aa5b1; text-underline-offset: 3px; cursor: help; }}
tr.quotes td {{ border-top: none; padding-top: 0; color: #3e4c59; font-size: 13px; }}
tr.quotes ul {{ margin: 0 0 6px; padding-left: 18px; }}
.chart {{ background: #fff; border-radius: 8px; margin: 10px 0;
          box-shadow: 0 1px 3px rgba(15, 30, 50, .12); }}
"""


def daily_by_category(engine: Engine, window: Window) -> pd.DataFrame:
    """Pain points per day and category in the window; typed even when empty, so a window without
    pain points still gets its (empty) report."""
    query = (select(pain_points.c.record_date.label("day"), pain_point_categories.c.category.label("key"),
                    func.count().label("n"))
             .join(pain_point_categories,
                   pain_point_categories.c.pain_point_id == pain_points.c.pain_point_id)
             .where(pain_points.c.record_date >= window.start, pain_points.c.record_date <= window.end)
             .group_by(pain_points.c.record_date, pain_point_categories.c.category))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame(rows, columns=["day", "key", "n"]).astype({"n": "int64"})


def _topic_counts(engine: Engine, window: Window, sources: list[str] | None,
                  limit: int) -> list[tuple[str, int]]:
    """The window's largest topics by label (of `sources`, or all), unassigned pain (topic -1) left out."""
    where = [pain_points.c.record_date >= window.start, pain_points.c.record_date <= window.end,
             pain_points.c.topic_id != -1]
    if sources is not None:
        where.append(pain_points.c.source.in_(sources))
    with engine.connect() as conn:
        return [(label, n) for label, n in conn.execute(
            select(pain_points.c.topic_label, func.count()).where(*where)
            .group_by(pain_points.c.topic_label)
            .order_by(func.count().desc(), pain_points.c.topic_label).limit(limit))]


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 17}},
                      height=height, font={"family": FONT, "size": 13}, template="simple_white",
                      margin={"l": 10, "r": 20, "t": 56, "b": 30}, hoverlabel={"font_family": FONT})
    return fig


def top_categories_chart(findings: Findings, limit: int, compared: bool) -> go.Figure:
    """The top categories as horizontal bars, the previous period's count as a paler bar beside."""
    rows = category_totals(findings)[:limit][::-1]
    labels = [findings.labels.category(r["category"]) for r in rows]
    fig = go.Figure()
    if compared:
        fig.add_bar(y=labels, x=[r["previous_period"] for r in rows], orientation="h", name="직전 기간",
                    marker_color=BEFORE_COLOUR, hovertemplate="%{y}: %{x}건 (직전 기간)<extra></extra>")
    fig.add_bar(y=labels, x=[r["pain_points"] for r in rows], orientation="h", name="이번 기간",
                marker_color=NOW_COLOUR, text=[r["pain_points"] for r in rows], textposition="outside",
                cliponaxis=False, hovertemplate="%{y}: %{x}건<extra></extra>")
    fig.update_layout(barmode="group", legend={"orientation": "h", "traceorder": "reversed", "y": -0.25,
                                               "x": 0}, xaxis_title="불편 문장 수")
    return _layout(fig, f"불편 유형 상위 {len(rows)}개", 160 + 44 * max(len(rows), 1))


def top_topics_chart(topics: list[tuple[str, int]]) -> go.Figure:
    rows = topics[::-1]
    fig = go.Figure(go.Bar(y=[label for label, _ in rows], x=[n for _, n in rows], orientation="h",
                           marker_color=NOW_COLOUR, text=[n for _, n in rows], textposition="outside",
                           cliponaxis=False, hovertemplate="%{y}: %{x}건<extra></extra>"))
    fig.update_layout(xaxis_title="불편 문장 수")
    return _layout(fig, f"많이 나온 토픽 상위 {len(rows)}개", 120 + 36 * max(len(rows), 1))


def trend_chart(daily: pd.DataFrame, trend: Window, labels: Labels, spikes: set[tuple], count: int,
                window: Window | None = None) -> go.Figure:
    """One small daily bar chart per top category of the trend window, each on its own scale, the days
    flagged as an emerging issue of that category in red, the report's own window shaded."""
    days = [trend.start + timedelta(days=i) for i in range(trend.days())]
    totals = daily.groupby("key")["n"].sum().sort_values(ascending=False, kind="stable")
    top = totals.head(count).index.tolist()
    columns = 3 if len(top) > 2 else max(len(top), 1)
    fig = make_subplots(rows=max(math.ceil(len(top) / columns), 1), cols=columns, shared_xaxes=True,
                        subplot_titles=[labels.category(key) for key in top] or ["불편 없음"],
                        vertical_spacing=0.14, horizontal_spacing=0.06)
    for index, key in enumerate(top):
        series = daily[daily["key"] == key].set_index("day")["n"].reindex(days, fill_value=0)
        colours = [SPIKE_COLOUR if (day, "category", key) in spikes else NOW_COLOUR for day in days]
        fig.add_bar(x=days, y=series.tolist(), marker_color=colours, showlegend=False,
                    name=labels.category(key), customdata=[key] * len(days),
                    hovertemplate="%{x|%m월 %d일}: %{y}건<extra>%{fullData.name}</extra>",
                    row=index // columns + 1, col=index % columns + 1)
    fig.update_xaxes(tickformat="%m/%d")
    if window is not None and window != trend:
        # From midnight before the first day's bar to midnight after the last one's: a date minus hours is
        # the same date, so a one-day window would be shaded zero wide.
        half_day = timedelta(hours=12)
        fig.add_vrect(x0=datetime.combine(window.start, time()) - half_day,
                      x1=datetime.combine(window.end, time()) + half_day, fillcolor="#fde9b8", opacity=0.5,
                      line_width=0, layer="below", row="all", col="all")
    rows = max(math.ceil(len(top) / columns), 1)
    shaded = ", 노랑: 이번 기간" if window is not None and window != trend else ""
    title = f"불편 유형별 하루 건수 · {korean_period(trend.start, trend.end)} (빨강: 급증한 날{shaded})"
    return _layout(fig, title, 90 + 210 * rows)


def topic_map(topic_model: TopicModel) -> go.Figure:
    """BERTopic's map of the topics (c-TF-IDF in two dimensions, size = sentences) with each topic's
    label written on its circle, instead of hover-only numbers."""
    fig = topic_model.model.visualize_topics(title="토픽 지도")
    trace = fig.data[0]
    names = [topic_model.label(topic_model.meta.ids.get(int(internal), int(internal)))
             for internal in trace.customdata[:, 0]]
    trace.update(text=names, mode="markers+text", textposition="top center",
                 textfont={"family": FONT, "size": 13, "color": "#1f2933"},
                 hovertemplate="<b>%{text}</b><br>%{customdata[1]}<br>문장 %{customdata[2]}개<extra></extra>")
    # BERTopic's "Topic n" slider and its D1/D2 axes cross: the labels say it better.
    fig.layout.sliders, fig.layout.annotations, fig.layout.shapes = (), (), ()
    fig.update_layout(width=None)
    return _layout(fig, "토픽 지도 (가까운 원일수록 비슷한 불편)", 620)


def _chart(fig: go.Figure, first: bool) -> str:
    plotly_js = "directory" if first else False
    figure = fig.to_html(full_html=False, include_plotlyjs=plotly_js, config=CHART_CONFIG)
    return f"<div class='chart'>{figure}</div>"


def _cell(cell: Cell, tag: str = "td") -> str:
    hint = f" title='{html.escape(cell.key)}'" if cell.key else ""
    return f"<{tag}{hint}>{html.escape(cell.text)}</{tag}>"


def section_html(section: Section, charts: list[str] = ()) -> str:
    """A section as a heading, its note, its charts and its table; quotes under their rows."""
    rows = []
    for index, cells in enumerate(section.shown_rows):
        rows.append("<tr>" + "".join(_cell(cell) for cell in cells) + "</tr>")
        quotes = section.quotes[index] if index < len(section.quotes) else []
        if quotes:
            items = "".join(f"<li>“{html.escape(quote)}”</li>" for quote in quotes)
            rows.append(f"<tr class='quotes'><td colspan='{len(cells)}'><ul>{items}</ul></td></tr>")
    header = "".join(f"<th>{html.escape(name)}</th>" for name in section.header)
    note = f"<p class='note'>{html.escape(section.note)}</p>" if section.note else ""
    return (f"<section><h2>{html.escape(section.title)}</h2>{note}{''.join(charts)}"
            f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table></section>")


def _cards(summary: RunSummary, findings: Findings) -> str:
    cards = [(what, value, False) for what, value in reconciliation(summary)]
    cards.append(("급증 이슈", f"{len(findings.emerging)}건", bool(findings.emerging)))
    if findings.previous_mined:
        now, before = findings.totals
        cards.append(("직전 기간 불편 문장", f"{before:,}", False))
        cards.append(("직전 기간 대비", f"{now - before:+,}", now > before))
    return "<div class='cards'>" + "".join(
        f"<div class='card{' alert' if alert else ''}'><div class='value'>{html.escape(value)}</div>"
        f"<div class='what'>{html.escape(what)}</div></div>" for what, value, alert in cards) + "</div>"


def write_report(engine: Engine, summary: RunSummary, directory: Path, topic_model: TopicModel | None,
                 findings: Findings, settings: ReportsConfig | None = None,
                 sources: list[str] | None = None) -> Path:
    """The report of `summary`'s window as `directory`/sori-<start>-<end>-<run>.html (plotly.min.js
    beside it); returns its path. `sources` limits the topic bars like the story (default: all)."""
    settings = settings or ReportsConfig()
    window = summary.window
    trend = window if window.days() >= settings.trend_days else Window(
        window.end - timedelta(days=settings.trend_days - 1), window.end)
    spikes = {(row["day"], row["dimension"], row["key"]) for row in flagged(engine, trend)}
    figures = {"top": top_categories_chart(findings, settings.top_categories, findings.previous_mined),
               "trend": trend_chart(daily_by_category(engine, trend), trend, findings.labels, spikes,
                                    settings.trend_categories, window)}
    topics = _topic_counts(engine, window, sources, settings.top_categories)
    notes = []
    if topics:
        figures["topics"] = top_topics_chart(topics)
    if topic_model is not None:
        try:
            figures["map"] = topic_map(topic_model)
        except (ValueError, TypeError, IndexError):
            notes.append("토픽이 너무 적어 토픽 지도를 그릴 수 없어요.")
    charts = {name: _chart(fig, first=index == 0) for index, (name, fig) in enumerate(figures.items())}

    sections = story(summary, findings)
    body = [f"<h1>{html.escape(headline(summary))}</h1>",
            f"<p class='meta'>실행 {html.escape(summary.run_id[:8])} · 분석 {summary.seconds:.0f}초</p>",
            _cards(summary, findings),
            section_html(sections[0], [charts["top"]]),
            *[section_html(section) for section in sections[1:]],
            "<section id='trends'><h2>추이와 토픽</h2>",
            charts["trend"], charts.get("topics", ""), charts.get("map", ""),
            *[f"<p class='note'>{html.escape(note)}</p>" for note in notes],
            "</section>"]
    directory.mkdir(parents=True, exist_ok=True)
    plotly_js = directory / "plotly.min.js"
    if not plotly_js.exists():
        plotly_js.write_text(get_plotlyjs(), encoding="utf-8")
    path = directory / f"sori-{window.start}-{window.end}-{summary.run_id[:8]}.html"
    path.write_text(f"<!doctype html><html lang='ko'><head><meta charset='utf-8'>"
                    f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
                    f"<title>{html.escape(headline(summary))}</title><style>{STYLE}</style></head>"
                    f"<body><main>{''.join(body)}</main></body></html>", encoding="utf-8")
    return path

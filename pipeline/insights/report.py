"""What a run tells people, read back from the warehouse itself (so it shows what BI will see):
the summary it prints, and the tables its Prefect artifacts publish."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Connection, Engine, bindparam, func, select, text

from pipeline.inert import markdown_text
from pipeline.insights.emerging import flagged, rising_keys
from pipeline.insights.products import MAX_Q_VALUE, product_hotspots
from pipeline.warehouse.schema import feedback, pain_point_categories, pain_points
from pipeline.warehouse.writes import RunCounts
from pipeline.window import Window


@dataclass
class RunSummary:
    run_id: str
    window: Window
    counts: RunCounts
    seconds: float
    by_category: dict[str, int] = field(default_factory=dict)
    by_touchpoint: dict[str, int] = field(default_factory=dict)

    def render(self) -> str:
        c = self.counts
        lines = [
            f"sori run {self.run_id}: window {self.window.start} … {self.window.end} in {self.seconds:.1f}s",
            f"  reconciliation: read {c.records_read} = loaded {c.records_loaded}"
            f" + quarantined {c.records_quarantined}",
            f"  mined texts {c.feedback_rows}, sentences {c.sentences}, pain points {c.pain_points}",
            "  pain points by category:   " + _pairs(self.by_category),
            "  pain points by touchpoint: " + _pairs(self.by_touchpoint),
        ]
        return "\n".join(lines)


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in counts.items()) or "none"


def pain_counts(engine: Engine, window: Window, sources: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    """Counts in the window after the write, so the summary shows what BI will see."""
    in_window = [
        pain_points.c.record_date >= window.start,
        pain_points.c.record_date <= window.end,
        pain_points.c.source.in_(sources),
    ]
    with engine.connect() as conn:
        category = conn.execute(
            select(pain_point_categories.c.category, func.count())
            .join(pain_points, pain_points.c.pain_point_id == pain_point_categories.c.pain_point_id)
            .where(*in_window)
            .group_by(pain_point_categories.c.category)
            .order_by(func.count().desc(), pain_point_categories.c.category)
        ).all()
        touchpoint = conn.execute(
            select(pain_points.c.touchpoint, func.count())
            .where(*in_window)
            .group_by(pain_points.c.touchpoint)
            .order_by(func.count().desc(), pain_points.c.touchpoint)
        ).all()
    return dict(category), dict(touchpoint)


def previous_window(window: Window) -> Window:
    """The equally long period just before, to say whether things got worse."""
    days = timedelta(days=window.days())
    return Window(window.start - days, window.end - days)


def _category_touchpoint_counts(conn: Connection, window: Window, sources: list[str]) -> dict:
    rows = conn.execute(
        select(pain_point_categories.c.category, pain_points.c.touchpoint, func.count())
        .join(pain_points, pain_points.c.pain_point_id == pain_point_categories.c.pain_point_id)
        .where(pain_points.c.record_date >= window.start, pain_points.c.record_date <= window.end,
               pain_points.c.source.in_(sources))
        .group_by(pain_point_categories.c.category, pain_points.c.touchpoint)
    ).all()
    return {(category, touchpoint): count for category, touchpoint, count in rows}


def was_mined(engine: Engine, window: Window, sources: list[str]) -> bool:
    """Whether the warehouse holds any text of these sources in the window: a period never mined has
    no pain points to compare with, which is not the same as a period without pain."""
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(feedback)
            .where(feedback.c.record_date >= window.start, feedback.c.record_date <= window.end,
                   feedback.c.source.in_(sources))
        ).scalar() > 0


def category_touchpoint_changes(engine: Engine, window: Window, sources: list[str]) -> list[dict]:
    """Pain points per category × touchpoint in the window against the previous period, worst first."""
    with engine.connect() as conn:
        now = _category_touchpoint_counts(conn, window, sources)
        before = _category_touchpoint_counts(conn, previous_window(window), sources)
    rows = []
    for key in sorted(set(now) | set(before)):
        current, previous = now.get(key, 0), before.get(key, 0)
        rows.append({
            "category": key[0], "touchpoint": key[1], "pain_points": current, "previous_period": previous,
            "change": current - previous,
            "change_pct": round(100.0 * (current - previous) / previous, 1) if previous else None,
        })
    return sorted(rows, key=lambda r: (-r["pain_points"], -r["change"], r["category"], r["touchpoint"]))


def top_pain_points(engine: Engine, window: Window, sources: list[str], limit: int = 10) -> list[dict]:
    """The most severe pain points of the window with their evidence, for a human to read first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(pain_points.c.record_date, pain_points.c.source, pain_points.c.primary_category,
                   pain_points.c.touchpoint, pain_points.c.severity, pain_points.c.response_needed,
                   pain_points.c.topic_label, pain_points.c.evidence, pain_points.c.pain_probability)
            .where(pain_points.c.record_date >= window.start, pain_points.c.record_date <= window.end,
                   pain_points.c.source.in_(sources))
            .order_by(pain_points.c.severity_score.desc(), pain_points.c.sentiment_score.desc(),
                      pain_points.c.pain_point_id)
            .limit(limit)
        ).mappings().all()
    return [dict(row) for row in rows]


COSTS_PER_MEASURE = 5

_RATING_COSTS = text("""
    SELECT 'stars' AS measure, source, category, reviews_mentioning AS mentioning, reviews AS total,
           avg_rating AS score, avg_rating_without_category AS score_without, rating_impact AS impact
    FROM v_rating_impact_by_category
    WHERE month = :month AND source IN :sources AND rating_impact > 0
    ORDER BY rating_impact DESC, source, category LIMIT :limit""").bindparams(
    bindparam("sources", expanding=True))
_NPS_COSTS = text("""
    SELECT 'NPS' AS measure, 'surveys' AS source, category, responses_mentioning AS mentioning,
           responses AS total, nps AS score, nps_without_category AS score_without, nps_impact AS impact
    FROM v_nps_impact_by_category
    WHERE month = :month AND nps_impact > 0
    ORDER BY nps_impact DESC, category LIMIT :limit""")


def pain_costs(engine: Engine, window: Window, sources: list[str],
               limit: int = COSTS_PER_MEASURE) -> list[dict]:
    """What each category costs in each month the window touches (the last one so far), read from the
    impact views: the average stars a review source would have, and the NPS all surveys would have,
    without the texts that name it; the costliest first, per month and measure. "How badly" in the
    terms the business reports."""
    rows = []
    with engine.connect() as conn:
        for month in window.months():
            params = {"month": month, "limit": limit}
            stars = conn.execute(_RATING_COSTS, {**params, "sources": sources}).mappings().all()
            nps = conn.execute(_NPS_COSTS, params).mappings().all()
            rows += [{"month": month, **row} for row in (*stars, *nps)]
    return rows


@dataclass
class Findings:
    """What a run found, read from the warehouse once for every place that tells it: the log, the
    Prefect artifacts and the HTML report."""
    changes: list[dict]
    previous_mined: bool
    top: list[dict]
    emerging: list[dict]
    rising: list[dict]
    costs: list[dict]
    products: list[dict]


def read_findings(engine: Engine, window: Window, sources: list[str]) -> Findings:
    return Findings(changes=category_touchpoint_changes(engine, window, sources),
                    previous_mined=was_mined(engine, previous_window(window), sources),
                    top=top_pain_points(engine, window, sources),
                    emerging=flagged(engine, window),
                    rising=rising_keys(engine, window),
                    costs=pain_costs(engine, window, sources),
                    products=product_hotspots(engine, window, sources))


@dataclass
class Section:
    """One table of the run's story, in cells already formatted, so markdown and HTML say the same."""
    title: str
    header: list[str]
    rows: list[list[str]]

    @property
    def shown_rows(self) -> list[list[str]]:
        """The rows, or one row of dashes: an empty table still shows that there was nothing."""
        return self.rows or [["–"] * len(self.header)]


def story(summary: RunSummary, findings: Findings) -> list[Section]:
    """Where it hurts more than before, what spiked, what keeps growing, what it costs, which products
    hurt most, what to read first."""
    increases = (sorted((r for r in findings.changes if r["change"] > 0), key=lambda r: -r["change"])[:10]
                 if findings.previous_mined else [])
    previous = previous_window(summary.window)
    return [
        Section("Biggest increases against the previous period" if findings.previous_mined else
                f"Biggest increases: none to tell, nothing was mined in the previous period "
                f"({previous.start} … {previous.end})",
                ["category", "touchpoint", "pain points", "previous", "change"],
                [[r["category"], r["touchpoint"], str(r["pain_points"]), str(r["previous_period"]),
                  f"+{r['change']}"] for r in increases]),
        Section("Emerging issues", ["day", "dimension", "key", "count", "expected", "score"],
                [[str(r["day"]), r["dimension"], _key(r), str(r["count"]), f"{r['expected']:.1f}",
                  f"{r['score']:.1f}"] for r in findings.emerging]),
        Section("Rising: more pain lately than in the weeks before",
                ["day", "dimension", "key", "recent pain", "expected", "p"],
                [[str(r["day"]), r["dimension"], _key(r), str(r["trend_count"]), f"{r['trend_expected']:.1f}",
                  f"{r['trend_p_value']:.1e}"] for r in findings.rising]),
        Section(f"What pain costs, {_months(summary.window)}",
                ["month", "measure", "source", "category", "texts naming it", "of", "score", "without them",
                 "cost"],
                [[f"{r['month']:%Y-%m}", r["measure"], r["source"], r["category"], str(r["mentioning"]),
                  str(r["total"]), f"{r['score']:.2f}", f"{r['score_without']:.2f}", f"{r['impact']:.2f}"]
                 for r in findings.costs]),
        Section(f"Products with more pain than the rest of their source, {_months(summary.window)} "
                f"(q ≤ {MAX_Q_VALUE})",
                ["month", "source", "product", "records", "with pain", "share", "rest of source", "excess",
                 "avg rating", "top category", "q"],
                [[f"{r['month']:%Y-%m}", r["source"], r["product"], str(r["records"]),
                  str(r["records_with_pain"]), f"{r['records_with_pain'] / r['records']:.0%}",
                  f"{r['rest_share']:.0%}", f"+{r['excess']:.1f}", _two_decimals(r["avg_rating"]),
                  r["top_category"] or "–", f"{r['q_value']:.1e}"]
                 for r in findings.products]),
        Section("Most severe pain points",
                ["date", "source", "category", "touchpoint", "severity", "response needed", "topic",
                 "P(pain)", "evidence"],
                [[str(r["record_date"]), r["source"], r["primary_category"], r["touchpoint"],
                  str(r["severity"]), "yes" if r["response_needed"] else "", r["topic_label"],
                  _two_decimals(r["pain_probability"]), r["evidence"]] for r in findings.top]),
    ]


def warnings(findings: Findings, flags: int, counts: RunCounts, trend_days: int) -> list[str]:
    """What the run's log should warn an operator of: flags, rising keys, products worse than the rest
    of their source, and quarantined records."""
    out = []
    if flags:
        out.append(f"{flags} emerging issues flagged: see the emerging_issues table")
    if rising := findings.rising:
        out.append(f"rising over the {trend_days} days to {rising[0]['day']}: "
                   + ", ".join(f"{r['dimension']} {r['label']} ({r['trend_count']} recently, "
                               f"{r['trend_expected']:.0f} expected)" for r in rising))
    if products := findings.products:
        out.append("more pain than the rest of their source: "
                   + ", ".join(f"{r['month']:%Y-%m} {r['source']} {r['product']} ({r['records_with_pain']} "
                               f"of {r['records']} records, {r['rest_share']:.0%} elsewhere)"
                               for r in products))
    if counts.records_quarantined:
        out.append(f"{counts.records_quarantined} records quarantined: see the quarantine table")
    return out


def render_markdown(summary: RunSummary, findings: Findings) -> str:
    """The run's story for the Prefect UI: reconciliation, then the story's tables. Every cell below
    the header is literal text (`markdown_text`): evidence, products and topic labels come from
    customers."""
    c = summary.counts
    lines = [
        f"# sori run {summary.window.start} … {summary.window.end}",
        "",
        f"**Reconciliation:** read {c.records_read} = loaded {c.records_loaded} + quarantined "
        f"{c.records_quarantined}. Mined texts {c.feedback_rows}, sentences {c.sentences}, "
        f"pain points {c.pain_points}, in {summary.seconds:.1f}s.",
    ]
    for section in story(summary, findings):
        lines += ["", f"## {section.title}", "", _row(section.header), "|" + "---|" * len(section.header)]
        lines += [_row([markdown_text(cell) for cell in cells]) for cells in section.shown_rows]
    return "\n".join(lines) + "\n"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _months(window: Window) -> str:
    """The calendar months a window touches, as the monthly sections title them."""
    months = window.months()
    if len(months) == 1:
        return f"{months[0]:%Y-%m} so far"
    return f"{months[-1]:%Y-%m} … {months[0]:%Y-%m} (the last so far)"


def _two_decimals(value: float | None) -> str:
    """A probability or an average rating; a dash where there is none."""
    return "–" if value is None else f"{value:.2f}"


def _key(row: dict) -> str:
    """A topic as its id and label (from `pipeline.insights.emerging`), a category or touchpoint as its
    key."""
    return row["key"] if row["label"] == row["key"] else f"{row['key']} {row['label']}"

"""What a run tells people, read back from the warehouse itself (so it shows what BI will see):
the summary it logs, and the story its Prefect artifacts and HTML report tell.

The story is for a CX manager, not an engineer: Korean headings, the taxonomy's Korean labels
(`Labels`, handed in by the caller; the warehouse keys ride along as `Cell.key` for a tooltip or a
small column), changes and spikes in words ("평소보다 3.0배") instead of test statistics, and periods
said exactly: a month the window ends in is counted up to the window's last day ("2026년 10월
1일–22일"), never with what a later run already wrote after it. The operator's log stays in English."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Connection, Engine, Select, bindparam, func, select, text

from pipeline.config import Taxonomy
from pipeline.inert import markdown_text
from pipeline.insights.emerging import flagged, rising_keys
from pipeline.insights.products import product_hotspots
from pipeline.warehouse.schema import feedback, monthly_through, pain_point_categories, pain_points
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


def pain_point_total(engine: Engine, window: Window, sources: list[str]) -> int:
    """Pain points in the window (each once, however many categories it has)."""
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(pain_points)
            .where(pain_points.c.record_date >= window.start, pain_points.c.record_date <= window.end,
                   pain_points.c.source.in_(sources))
        ).scalar()


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

_RATING_COSTS = text(f"""
    SELECT 'stars' AS measure, source, category, reviews_mentioning AS mentioning, reviews AS total,
           avg_rating AS score, avg_rating_without_category AS score_without, rating_impact AS impact
    FROM ({monthly_through("v_rating_impact_by_category")}) AS impact
    WHERE month = :month AND source IN :sources AND rating_impact > 0
    ORDER BY rating_impact DESC, source, category LIMIT :limit""").bindparams(
    bindparam("sources", expanding=True))
_NPS_COSTS = text(f"""
    SELECT 'NPS' AS measure, 'surveys' AS source, category, responses_mentioning AS mentioning,
           responses AS total, nps AS score, nps_without_category AS score_without, nps_impact AS impact
    FROM ({monthly_through("v_nps_impact_by_category")}) AS impact
    WHERE month = :month AND nps_impact > 0
    ORDER BY nps_impact DESC, category LIMIT :limit""")


def pain_costs(engine: Engine, window: Window, sources: list[str],
               limit: int = COSTS_PER_MEASURE) -> list[dict]:
    """What each category costs in each month the window touches, read from the impact views cut at
    the window's end (the month it ends in so far, never what a later run wrote after it): the
    average stars a review source would have, and the NPS all surveys would have, without the texts
    that name it; the costliest first, per month and measure. "How badly" in the terms the business
    reports."""
    rows = []
    with engine.connect() as conn:
        for month in window.months():
            params = {"month": month, "limit": limit, "through": window.end}
            stars = conn.execute(_RATING_COSTS, {**params, "sources": sources}).mappings().all()
            nps = conn.execute(_NPS_COSTS, params).mappings().all()
            rows += [{"month": month, **row} for row in (*stars, *nps)]
    return rows


@dataclass(frozen=True)
class Labels:
    """The taxonomy's Korean labels by key, in the taxonomy's order: people read labels, the warehouse
    keeps keys. A key the taxonomy no longer has (history tagged before an edit) shows as itself."""
    categories: dict[str, str] = field(default_factory=dict)
    touchpoints: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, taxonomy: Taxonomy) -> Labels:
        return cls({key: entry.label for key, entry in taxonomy.categories.items()},
                   {key: entry.label for key, entry in taxonomy.touchpoints.items()})

    def category(self, key: str) -> str:
        return self.categories.get(key, key)

    def touchpoint(self, key: str) -> str:
        return self.touchpoints.get(key, key)


# What an emerging issue or a rising key is about, in the words of the report.
DIMENSIONS = {"category": "불편 유형", "touchpoint": "고객 여정 단계", "topic": "토픽", "product": "상품"}
MEASURES = {"stars": "별점", "NPS": "NPS"}


def _example_query(dimension: str, key: str) -> Select:
    """The pain points an emerging issue of `dimension` = `key` counted, for its example quotes."""
    query = select(pain_points.c.evidence, pain_points.c.severity_score)
    if dimension == "category":
        return query.join(pain_point_categories,
                          pain_point_categories.c.pain_point_id == pain_points.c.pain_point_id).where(
            pain_point_categories.c.category == key)
    if dimension == "touchpoint":
        return query.where(pain_points.c.touchpoint == key)
    if dimension == "topic":
        return query.where(pain_points.c.topic_id == int(key))
    if dimension == "product":
        return query.join(feedback, feedback.c.feedback_id == pain_points.c.feedback_id).where(
            feedback.c.product == key)
    raise ValueError(f"no example quotes for an emerging issue of dimension {dimension!r}")


def issue_examples(engine: Engine, issues: list[dict], limit: int) -> list[list[str]]:
    """Up to `limit` different masked pain sentences behind each emerging issue (its key on its day),
    the most severe first: what customers actually wrote, so a reader can judge the flag."""
    if not limit:
        return [[] for _ in issues]
    examples = []
    with engine.connect() as conn:
        for issue in issues:
            matching = (_example_query(issue["dimension"], issue["key"])
                        .where(pain_points.c.record_date == issue["day"]).subquery())
            query = (select(matching.c.evidence).group_by(matching.c.evidence)
                     .order_by(func.max(matching.c.severity_score).desc(), matching.c.evidence).limit(limit))
            examples.append(list(conn.execute(query).scalars()))
    return examples


@dataclass
class Findings:
    """What a run found, read from the warehouse once for every place that tells it: the log, the
    Prefect artifacts and the HTML report, with the labels they tell it in."""
    changes: list[dict]
    previous_mined: bool
    top: list[dict]
    emerging: list[dict]
    rising: list[dict]
    costs: list[dict]
    products: list[dict]
    examples: list[list[str]] = field(default_factory=list)  # quotes per emerging issue, in its order
    labels: Labels = field(default_factory=Labels)
    totals: tuple[int, int] = (0, 0)  # pain points in the window and in the previous period


def read_findings(engine: Engine, window: Window, sources: list[str], labels: Labels | None = None,
                  examples: int = 3) -> Findings:
    emerging = flagged(engine, window)
    return Findings(changes=category_touchpoint_changes(engine, window, sources),
                    previous_mined=was_mined(engine, previous_window(window), sources),
                    top=top_pain_points(engine, window, sources),
                    emerging=emerging,
                    rising=rising_keys(engine, window),
                    costs=pain_costs(engine, window, sources),
                    products=product_hotspots(engine, window, sources),
                    examples=issue_examples(engine, emerging, examples),
                    labels=labels or Labels(),
                    totals=(pain_point_total(engine, window, sources),
                            pain_point_total(engine, previous_window(window), sources)))


@dataclass(frozen=True)
class Cell:
    """A table cell as people read it, and the warehouse key behind a label (a tooltip in HTML)."""
    text: str
    key: str = ""


@dataclass
class Section:
    """One table of the run's story, in cells already formatted, so markdown and HTML say the same;
    `note` says in a sentence what the table holds, `quotes` are customers' words under each row."""
    title: str
    header: list[str]
    rows: list[list[Cell]]
    note: str = ""
    quotes: list[list[str]] = field(default_factory=list)

    @property
    def shown_rows(self) -> list[list[Cell]]:
        """The rows, or one row of dashes: an empty table still shows that there was nothing."""
        return self.rows or [[Cell("–")] * len(self.header)]


def korean_date(day: date) -> str:
    """2026년 10월 22일."""
    return f"{day.year}년 {day.month}월 {day.day}일"


def korean_period(start: date, end: date) -> str:
    """An inclusive period as Korean readers write it: 2026년 10월 1일–22일, 2026년 9월 28일–10월 4일."""
    if start == end:
        return korean_date(start)
    if start.year != end.year:
        return f"{korean_date(start)}–{korean_date(end)}"
    if start.month != end.month:
        return f"{korean_date(start)}–{end.month}월 {end.day}일"
    return f"{korean_date(start)}–{end.day}일"


def month_period(month: date, window: Window) -> str:
    """A month the window touches, as far as it is told: the whole month, or its days up to the
    window's end ("so far")."""
    month_end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    if month_end <= window.end:
        return f"{month.year}년 {month.month}월"
    return korean_period(month, window.end)


def months_period(window: Window) -> str:
    """The months the monthly sections tell: from the first day of the window's first month to the
    window's last day."""
    return korean_period(window.months()[-1], window.end)


def change_words(current: int, previous: int) -> str:
    """A count against the previous period in words: +6 (2.5배), −3 (0.4배), 새로 생김 (+5)."""
    if current == previous:
        return "변화 없음"
    if not previous:
        return f"새로 생김 (+{current})"
    sign = "+" if current > previous else "−"
    return f"{sign}{abs(current - previous)} ({current / previous:.1f}배)"


RARE = 0.5  # expected per day below this: "almost never", where a ratio would read like 600×


def times_usual(count: float, expected: float) -> str:
    """How far a count is above what its baseline expects, in words instead of a p-value."""
    return f"평소보다 {count / expected:.1f}배" if expected >= RARE else "평소엔 거의 없던 불편"


def usual(expected: float, digits: int) -> str:
    """What a baseline expects, in words; "거의 없음" where it expects almost nothing."""
    return f"약 {expected:.{digits}f}건" if expected >= RARE else "거의 없음"


def category_totals(findings: Findings) -> list[dict]:
    """Pain points per category in the window and the previous period (from the category ×
    touchpoint changes), the most first."""
    totals: dict[str, list[int]] = {}
    for row in findings.changes:
        counts = totals.setdefault(row["category"], [0, 0])
        counts[0] += row["pain_points"]
        counts[1] += row["previous_period"]
    return sorted(({"category": key, "pain_points": now, "previous_period": before}
                   for key, (now, before) in totals.items()),
                  key=lambda r: (-r["pain_points"], r["previous_period"] - r["pain_points"], r["category"]))


def touchpoint_journey(findings: Findings) -> list[dict]:
    """Pain points per touchpoint in the taxonomy's order (the customer's journey), with the window's
    two largest categories at each; touchpoints the taxonomy no longer has come last."""
    journey: dict[str, dict] = {}
    for row in findings.changes:
        stage = journey.setdefault(row["touchpoint"], {"touchpoint": row["touchpoint"], "pain_points": 0,
                                                        "previous_period": 0, "categories": {}})
        stage["pain_points"] += row["pain_points"]
        stage["previous_period"] += row["previous_period"]
        if row["pain_points"]:
            stage["categories"][row["category"]] = row["pain_points"]
    order = list(findings.labels.touchpoints)
    return sorted(journey.values(), key=lambda s: (order.index(s["touchpoint"]) if s["touchpoint"] in order
                                                   else len(order), s["touchpoint"]))


def story(summary: RunSummary, findings: Findings) -> list[Section]:
    """What hurts most and what changed, along the customer's journey, what spiked (with customers'
    words), what keeps growing, what it costs, which products hurt most, what to read first: in the
    taxonomy's Korean labels, without test statistics."""
    labels = findings.labels
    window, previous = summary.window, previous_window(summary.window)
    compared = findings.previous_mined
    not_compared = (f"직전 기간({korean_period(previous.start, previous.end)})에는 분석한 글이 없어 "
                    "비교할 수 없어요.")

    def category(key: str) -> Cell:
        return Cell(labels.category(key), key)

    def touchpoint(key: str) -> Cell:
        return Cell(labels.touchpoint(key), key)

    # Without a mined previous period the comparison columns are left out rather than dashed.
    comparison = ["직전 기간", "변화"] if compared else []

    def against(current: int, before: int) -> list[Cell]:
        return [Cell(str(before)), Cell(change_words(current, before))] if compared else []

    def day_and_dimension(row: dict) -> list[Cell]:
        """A flagged day and what was counted on it (불편 유형, 고객 여정 단계, 토픽, 상품)."""
        return [Cell(f"{row['day'].month}월 {row['day'].day}일"),
                Cell(DIMENSIONS.get(row["dimension"], row["dimension"]))]

    def about(row: dict) -> Cell:
        """An emerging or rising key: a category or touchpoint by its label, a topic by its label."""
        if row["dimension"] == "category":
            return category(row["key"])
        if row["dimension"] == "touchpoint":
            return touchpoint(row["key"])
        return Cell(row["label"], row["key"] if row["label"] != row["key"] else "")

    increases = sorted((r for r in findings.changes if r["change"] > 0), key=lambda r: -r["change"])[:10]
    months = months_period(window)
    return [
        Section("불편 유형별 건수",
                ["불편 유형", "이번 기간", *comparison],
                [[category(r["category"]), Cell(str(r["pain_points"])),
                  *against(r["pain_points"], r["previous_period"])] for r in category_totals(findings)],
                note=(f"직전 기간({korean_period(previous.start, previous.end)})과 비교했어요." if compared
                      else not_compared)),
        Section("고객 여정 단계별 불편",
                ["고객 여정 단계", "이번 기간", *comparison, "많이 나온 불편"],
                [[touchpoint(s["touchpoint"]), Cell(str(s["pain_points"])),
                  *against(s["pain_points"], s["previous_period"]),
                  Cell(", ".join(f"{labels.category(key)} {n}" for key, n in sorted(
                      s["categories"].items(), key=lambda item: (-item[1], item[0]))[:2]) or "–")]
                 for s in touchpoint_journey(findings)],
                note="가입부터 반품까지 고객이 지나는 순서대로예요."),
        Section("직전 기간보다 가장 많이 늘어난 불편",
                ["불편 유형", "고객 여정 단계", "이번 기간", "직전 기간", "변화"],
                [[category(r["category"]), touchpoint(r["touchpoint"]), Cell(str(r["pain_points"])),
                  *against(r["pain_points"], r["previous_period"])]
                 for r in (increases if compared else [])],
                note="" if compared else not_compared),
        Section("급증 이슈",
                ["날짜", "구분", "대상", "건수", "평소 하루", "정도"],
                [[*day_and_dimension(r), about(r), Cell(f"{r['count']}건"), Cell(usual(r["expected"], 1)),
                  Cell(times_usual(r["count"], r["expected"]))] for r in findings.emerging],
                note="하루 건수가 지난 몇 주의 평소 수준을 크게 넘은 날이에요. "
                     "고객이 쓴 문장은 개인정보를 가린 그대로예요.",
                quotes=findings.examples),
        Section("꾸준히 늘어나는 불편",
                ["기준일", "구분", "대상", "최근 건수", "평소라면", "정도"],
                [[*day_and_dimension(r), about(r), Cell(f"{r['trend_count']}건"),
                  Cell(usual(r["trend_expected"], 0)),
                  Cell(times_usual(r["trend_count"], r["trend_expected"]))] for r in findings.rising],
                note="하루하루는 튀지 않아도 최근 몇 주 동안 그 전보다 뚜렷이 많아진 불편이에요."),
        Section(f"불편이 깎은 점수 · {months}",
                ["기간", "지표", "출처", "불편 유형", "언급한 글", "전체 글", "현재 점수", "언급 글을 빼면",
                 "깎인 점수"],
                [[Cell(month_period(r["month"], window)), Cell(MEASURES.get(r["measure"], r["measure"])),
                  Cell(r["source"]), category(r["category"]), Cell(str(r["mentioning"])),
                  Cell(str(r["total"])),
                  Cell(f"{r['score']:.2f}"), Cell(f"{r['score_without']:.2f}"), Cell(f"−{r['impact']:.2f}")]
                 for r in findings.costs],
                note="이 불편을 말한 글이 없었다면 평균 별점과 NPS가 얼마였을지예요."),
        Section(f"불편이 유난히 많은 상품 · {months}",
                ["기간", "출처", "상품", "기록", "불편 있는 기록", "비율", "같은 출처 다른 상품", "평균 별점",
                 "주요 불편"],
                [[Cell(month_period(r["month"], window)), Cell(r["source"]), Cell(r["product"]),
                  Cell(str(r["records"])), Cell(str(r["records_with_pain"])),
                  Cell(f"{r['records_with_pain'] / r['records']:.0%}"), Cell(f"{r['rest_share']:.0%}"),
                  Cell(_two_decimals(r["avg_rating"])),
                  category(r["top_category"]) if r["top_category"] else Cell("–")]
                 for r in findings.products],
                note="같은 출처의 다른 상품보다 불편을 말한 비율이 우연으로 보기 어려울 만큼 "
                     "높은 상품이에요."),
        Section("먼저 읽어 볼 불편",
                ["날짜", "출처", "불편 유형", "고객 여정 단계", "심각도", "답변 필요", "토픽", "확신도",
                 "내용"],
                [[Cell(f"{r['record_date'].month}월 {r['record_date'].day}일"), Cell(r["source"]),
                  category(r["primary_category"]), touchpoint(r["touchpoint"]), Cell(f"{r['severity']}/5"),
                  Cell("예" if r["response_needed"] else ""), Cell(r["topic_label"]),
                  Cell(_two_decimals(r["pain_probability"])), Cell(r["evidence"])] for r in findings.top],
                note="심각도가 가장 높은 문장부터예요(개인정보 가림)."),
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


def headline(summary: RunSummary) -> str:
    """The report's title, also the summary artifact's: what it is and which days it covers."""
    return f"고객 불편 리포트 · {korean_period(summary.window.start, summary.window.end)}"


def reconciliation(summary: RunSummary) -> list[tuple[str, str]]:
    """The run's counts as (what, how many), for the cards of the report and the summary artifact."""
    c = summary.counts
    return [("읽은 기록", f"{c.records_read:,}"), ("분석한 글", f"{c.feedback_rows:,}"),
            ("나눈 문장", f"{c.sentences:,}"), ("불편 문장", f"{c.pain_points:,}"),
            ("제외한 기록", f"{c.records_quarantined:,}")]


def render_markdown(summary: RunSummary, findings: Findings) -> str:
    """The run's story for the Prefect UI: the counts, then the story's tables with the same Korean
    headings and labels as the HTML report. Every cell below the header is literal text
    (`markdown_text`): evidence, products and topic labels come from customers."""
    c = summary.counts
    lines = [f"# {headline(summary)}", "",
             f"**집계:** 읽은 기록 {c.records_read:,} = 분석에 쓴 기록 {c.records_loaded:,} + 제외한 기록 "
             f"{c.records_quarantined:,}. 분석한 글 {c.feedback_rows:,} (설문 답변과 채팅 발화는 기록 하나에 "
             f"여럿), 나눈 문장 {c.sentences:,}, 불편 문장 {c.pain_points:,}; {summary.seconds:.1f}초."]
    for section in story(summary, findings):
        lines += ["", f"## {section.title}", ""]
        if section.note:  # sori's own sentence, no customer text: written as markdown
            lines += [section.note, ""]
        quoted = any(section.quotes)
        header = section.header + (["고객이 쓴 문장"] if quoted else [])
        lines += [_row(header), "|" + "---|" * len(header)]
        for index, cells in enumerate(section.shown_rows):
            texts = [markdown_text(cell.text) for cell in cells]
            if quoted:
                quotes = section.quotes[index] if index < len(section.quotes) else []
                texts.append(" / ".join(markdown_text(f"“{quote}”") for quote in quotes) or "–")
            lines.append(_row(texts))
    return "\n".join(lines) + "\n"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _two_decimals(value: float | None) -> str:
    """A probability or an average rating; a dash where there is none."""
    return "–" if value is None else f"{value:.2f}"

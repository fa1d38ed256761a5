"""Warehouse writes on DuckDB and on the real PostgreSQL server (no models needed)."""

import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Column, MetaData, Table, insert, select, text

from pipeline.config import SourceConfig
from pipeline.document import SurveyResponse
from pipeline.ingest.sources import QuarantineRecord, SourceBatch, open_source
from pipeline.insights.html_report import write_report
from pipeline.insights.products import product_hotspots
from pipeline.insights.report import (
    Findings,
    RunSummary,
    pain_costs,
    read_findings,
    render_markdown,
    top_pain_points,
)
from pipeline.text.pii.masker import PiiMasker
from pipeline.warehouse.schema import (
    SCHEMA_VERSION,
    SchemaError,
    connect,
    ensure_schema,
    feedback,
    pain_points,
    schema_version,
    survey_responses,
)
from pipeline.warehouse.writes import RunCounts, insert_rows, replace_window, window_writes
from pipeline.window import Window
from tests.factories import SEOUL, pain_doc


def write(engine, window, docs, quarantine=(), run_id="run"):
    batch = SourceBatch("reviews", quarantine=list(quarantine), records_read=len(docs))
    writes = window_writes([batch], docs, run_id, "test-models", PiiMasker(), store_raw_text=False)
    replace_window(engine, window, writes)


def told(engine, window, findings, tmp_path, title):
    """The section of the run's story whose title starts with `title`, as the summary artifact's markdown
    and as the HTML report tell it."""
    summary = RunSummary("run", window, RunCounts(), 1.0)
    markdown = render_markdown(summary, findings).split(f"## {title}")[1].split("\n## ")[0]
    page = write_report(engine, summary, tmp_path, None, findings).read_text(encoding="utf-8")
    return markdown, page.split(f"<h2>{title}")[1].split("<h2>")[0]


def dump(engine, table):
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT * FROM {table}")).mappings().all()
    return sorted(tuple(sorted((k, str(v)) for k, v in r.items() if k != "run_id")) for r in rows)


def test_rewriting_a_window_is_idempotent_and_overlaps_never_duplicate(warehouse_url):
    engine = connect(warehouse_url)
    ensure_schema(engine)
    days = [date(2026, 10, 1) + timedelta(days=i) for i in range(6)]
    docs = [pain_doc(f"r{i}", day) for i, day in enumerate(days)]
    write(engine, Window(days[0], days[3]), docs[:4])
    first = {t: dump(engine, t) for t in ("feedback", "pain_points", "pain_point_categories")}
    write(engine, Window(days[0], days[3]), docs[:4], run_id="again")
    assert {t: dump(engine, t) for t in first} == first
    write(engine, Window(days[2], days[5]), docs[2:], run_id="overlap")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM feedback")).scalar() == 6
        assert conn.execute(text("SELECT count(*) FROM pain_points")).scalar() == 6
        assert conn.execute(text("SELECT count(*) FROM pain_point_categories")).scalar() == 12
        ids = conn.execute(text("SELECT pain_point_id FROM pain_points")).scalars().all()
    assert len(set(ids)) == 6


def test_an_edited_record_replaces_its_old_version(warehouse_url):
    engine = connect(warehouse_url)
    ensure_schema(engine)
    window = Window(date(2026, 10, 1), date(2026, 10, 1))
    write(engine, window, [pain_doc("r1", window.start, "배송이 늦어요. 좋아요")])
    write(engine, window, [pain_doc("r1", window.start, "배송이 늦어요. 그래도 좋아요")])
    with engine.connect() as conn:
        assert conn.execute(text("SELECT text_masked FROM feedback")).scalars().all() == [
            "배송이 늦어요. 그래도 좋아요"]


def test_quarantine_keeps_masked_raw_bytes(warehouse_url):
    engine = connect(warehouse_url)
    ensure_schema(engine)
    window = Window(date(2026, 10, 1), date(2026, 10, 1))
    bad = QuarantineRecord("reviews", "r.csv:7", "unparseable date", '{"text": "010-1234-5678로 연락"}')
    write(engine, window, [], quarantine=[bad])
    write(engine, window, [], quarantine=[bad])
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT location, reason, raw_masked FROM quarantine")).all()
    assert len(rows) == 1
    assert rows[0][0] == "r.csv:7" and "010-1234-5678" not in rows[0][2] and "[전화번호]" in rows[0][2]


PERSONAL = ["김민수", "민수", "3384", "３３８４", "이서연", "2673", "12가", "7층"]


def test_quarantine_masks_every_column_of_the_file(warehouse_url, tmp_path):
    """A CSV of our own with columns the source does not map, read by the real source: whatever ends
    in quarantine (bad dates, a bad rating, a duplicate) holds none of the personal data in any column."""
    path = tmp_path / "reviews.csv"
    path.write_text(
        "id,date,stars,body,author,contact,memo\n"
        "q1,2026-13-45,5,민수가 주문했어요,김민수,０１０－３３８４－７７２１,\n"
        "q2,,4,좋아요,이서연,,12가 3456 차량\n"
        "q3,2026-10-01,별로,에이치스퀘어 N동 7층으로 보내주세요,김민수,,\n"
        "q4,2026-10-01,5,배송 빨라요,,0 1 0 2 6 7 3 9 9 0 1,이서연\n"
        "q4,2026-10-02,5,다시 씀,,,\n",
        encoding="utf-8",
    )
    source = open_source(SourceConfig.model_validate({
        "name": "reviews", "kind": "review", "path": str(path),
        "columns": {"id": "id", "created_at": "date", "rating": "stars", "text": "body"},
    }), SEOUL)
    batch = source.read(Window(date(2026, 10, 1), date(2026, 10, 2)))
    assert len(batch.quarantine) == 4
    engine = connect(warehouse_url)
    ensure_schema(engine)
    write(engine, Window(date(2026, 10, 1), date(2026, 10, 2)), [], quarantine=batch.quarantine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT reason, raw_masked FROM quarantine ORDER BY location")).all()
    assert len(rows) == 4
    for reason, raw in rows:
        assert not [value for value in PERSONAL if value in raw or value in reason], raw
    assert json.loads(rows[0][1])["author"] == "[이름]"


def test_a_newer_schema_is_refused(warehouse_url):
    engine = connect(warehouse_url)
    ensure_schema(engine)
    ensure_schema(engine)
    with engine.begin() as conn:
        assert conn.execute(select(schema_version.c.version)).scalars().all() == [SCHEMA_VERSION]
        conn.execute(insert(schema_version), [{"version": SCHEMA_VERSION + 1,
                                               "applied_at": datetime.now(SEOUL)}])
    with pytest.raises(SchemaError, match="newer"):
        ensure_schema(engine)


def test_bi_views_compute_nps_and_its_impact_per_category(warehouse_url):
    engine = connect(warehouse_url)
    ensure_schema(engine)
    day = date(2026, 10, 7)
    scores = {"a": (10, None), "b": (9, None), "c": (8, None), "d": (3, "delivery"), "e": (0, "delivery"),
              "f": (5, "staff")}
    docs = [pain_doc(rid, day, "답변", source="nps", kind="survey", nps=nps, pain=category is not None,
                     categories=(category or "other",)) for rid, (nps, category) in scores.items()]
    stores = {"a": "강남점", "b": "강남점", "d": "강남점"}
    responses = [SurveyResponse("nps", rid, d.item.created_at, day, nps, 1, stores.get(rid))
                 for d, (rid, (nps, _)) in zip(docs, scores.items(), strict=True)]
    responses.append(SurveyResponse("nps", "g", docs[0].item.created_at, day, 10, 0))
    batch = SourceBatch("nps", responses=responses, records_read=7)
    replace_window(engine, Window(day, day), window_writes([batch], docs, "run", "m", PiiMasker(), False,
                                                           {"nps": "survey"}))
    with engine.connect() as conn:
        daily = conn.execute(text("SELECT SUM(responses), SUM(promoters), SUM(passives), SUM(detractors) "
                                  "FROM v_nps_daily"))
        assert [tuple(r) for r in daily] == [(7, 3, 1, 3)]
        by_store = conn.execute(text("SELECT product, responses, nps FROM v_nps_daily ORDER BY product"))
        # 강남점: a 10, a 9 and a 3 → 2 promoters, 1 detractor of 3; the rest: 8, 0, 5, 10.
        assert [tuple(r) for r in by_store] == [("강남점", 3, pytest.approx(100 / 3)), (None, 4, -25.0)]
        impact = dict(conn.execute(text("SELECT category, nps_impact FROM v_nps_impact_by_category")).all())
        # Without the two delivery detractors: 3 promoters, 1 passive, 1 detractor of 5 → +40.
        assert impact["delivery"] == pytest.approx(40.0)
        assert impact["staff"] == pytest.approx(100.0 * (3 - 2) / 6)
        costs = pain_costs(engine, Window(day, day), ["nps"])
        assert [(c["measure"], c["category"]) for c in costs] == [("NPS", "delivery"), ("NPS", "staff")]
        pain = conn.execute(text("SELECT category, SUM(pain_points) FROM v_pain_points_daily "
                                 "GROUP BY category"))
        assert dict(pain.all()) == {"delivery": 2, "staff": 1}
        share = conn.execute(text("SELECT texts, texts_with_pain FROM v_negative_share_daily")).one()
        assert tuple(share) == (6, 3)


def test_rating_impact_says_how_many_stars_each_category_costs_a_source(warehouse_url, tmp_path):
    engine = connect(warehouse_url)
    ensure_schema(engine)
    day = date(2026, 10, 7)
    reviews = {"a": (5, None), "b": (4, None), "c": (1, "delivery"), "d": (2, "delivery"), "e": (3, "staff")}
    docs = [pain_doc(rid, day, "후기", rating=stars, pain=category is not None,
                     categories=(category or "other",)) for rid, (stars, category) in reviews.items()]
    docs.append(pain_doc("unrated", day, "후기", rating=None, categories=("delivery",)))
    docs.append(pain_doc("elsewhere", day, "후기", source="store", rating=5, categories=("delivery",)))
    batches = [SourceBatch(name, records_read=n) for name, n in (("reviews", 6), ("store", 1))]
    replace_window(engine, Window(day, day), window_writes(batches, docs, "run", "m", PiiMasker(), False))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT source, category, reviews_mentioning, reviews, avg_rating, "
                                 "avg_rating_mentioning, avg_rating_without_category, rating_impact "
                                 "FROM v_rating_impact_by_category")).all()
    impact = {(r[0], r[1]): tuple(r[2:]) for r in rows}
    # Reviews' five rated reviews average 3.0; without the two delivery reviews (1★, 2★) 4.0.
    assert impact[("reviews", "delivery")] == pytest.approx((2, 5, 3.0, 1.5, 4.0, 1.0))
    assert impact[("reviews", "staff")] == pytest.approx((1, 5, 3.0, 3.0, 3.0, 0.0))
    # The only rated review of a source: nothing is left to compare it with.
    assert impact[("store", "delivery")] == (1, 1, 5.0, 5.0, None, None)

    costs = pain_costs(engine, Window(day, day), ["reviews", "store"])
    assert [(c["measure"], c["source"], c["category"], c["impact"]) for c in costs] == [
        ("stars", "reviews", "delivery", pytest.approx(1.0))]  # staff costs nothing, store cannot tell
    findings = Findings(changes=[], previous_mined=True, top=[], emerging=[], rising=[], costs=costs,
                        products=[])
    markdown, page = told(engine, Window(day, day), findings, tmp_path, "불편이 깎은 점수")
    assert "| 2026년 10월 1일–7일 | 별점 | reviews | delivery | 2 | 5 | 3.00 | 4.00 | −1.00 |" in markdown
    assert "<td title='delivery'>delivery</td>" in page  # no taxonomy labels given: the key stands in
    engine.dispose()


def test_a_backfill_over_months_tells_what_pain_cost_in_each_latest_first(warehouse_url):
    engine = connect(warehouse_url)
    ensure_schema(engine)
    backfill = Window(date(2026, 8, 20), date(2026, 10, 5))
    assert backfill.months() == [date(2026, 10, 1), date(2026, 9, 1), date(2026, 8, 1)]
    hurt = {date(2026, 9, 14): "delivery", date(2026, 10, 3): "staff"}
    docs = [pain_doc(f"{day}-{n}", day, "후기", rating=5 - 4 * (n == 0), pain=n == 0,
                     categories=(category,)) for day, category in hurt.items() for n in range(3)]
    write(engine, backfill, docs)
    costs = pain_costs(engine, backfill, ["reviews"])
    assert [(c["month"], c["category"]) for c in costs] == [(date(2026, 10, 1), "staff"),
                                                             (date(2026, 9, 1), "delivery")]
    markdown = render_markdown(RunSummary("run", backfill, RunCounts(), 1.0),
                               read_findings(engine, backfill, ["reviews"]))
    assert "## 불편이 깎은 점수 · 2026년 8월 1일–10월 5일" in markdown
    assert "| 2026년 9월 | 별점 | reviews | delivery | 1 | 3 |" in markdown
    assert "| 2026년 10월 1일–5일 | 별점 | reviews | staff | 1 | 3 |" in markdown
    engine.dispose()


def test_the_product_that_hurts_more_than_the_rest_of_its_source_is_named(warehouse_url, tmp_path):
    engine = connect(warehouse_url)
    ensure_schema(engine)
    day = date(2026, 10, 7)
    docs = []
    # Ten products with two texts in ten that complain; one with eight; texts without a product.
    shares = {**{f"product-{i}": 2 for i in range(10)}, "cracked-case": 8}
    for product, with_pain in shares.items():
        category = "reliability" if product == "cracked-case" else "delivery"
        docs += [pain_doc(f"{product}-{n}", day, "후기", product=product, pain=n < with_pain,
                          rating=2 if n < with_pain else 4, categories=(category,)) for n in range(10)]
    docs += [pain_doc(f"no-product-{n}", day, "후기") for n in range(5)]
    docs += [pain_doc("C1", day, "환불이 안 돼요", source="chats", kind="chat", product="성수점",
                      part=f"turn{n}") for n in range(3)]
    docs.append(pain_doc("S1", day, "상담이 불친절해요", source="nps", kind="survey", product="강남점"))
    answered = SurveyResponse("nps", "S1", docs[-1].item.created_at, day, 3, 1, "강남점")
    silent = SurveyResponse("nps", "S2", docs[-1].item.created_at, day, 9, 0, "강남점")
    batches = [SourceBatch("reviews"), SourceBatch("chats"), SourceBatch("nps", responses=[answered, silent])]
    replace_window(engine, Window(day, day), window_writes(batches, docs, "run", "m", PiiMasker(), False))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT product, records, rated_records, avg_rating, records_with_pain, "
                                 "pain_share, pain_points, severe_pain_points, top_category "
                                 "FROM v_product_pain_monthly "
                                 "WHERE month = DATE '2026-10-01'")).all()
        by_product = conn.execute(text("SELECT product, SUM(pain_points) FROM v_pain_points_daily "
                                       "WHERE category = 'reliability' GROUP BY product")).all()
    view = {r[0]: tuple(r[1:]) for r in rows}
    assert set(view) == {*shares, "성수점", "강남점"}  # texts without a product are not a product
    # A conversation's three complaining turns: one customer, three pain points.
    assert view["성수점"] == (1, 0, None, 1, 1.0, 3, 3, "delivery")
    # A survey response without free text still counts among the store's responses.
    assert view["강남점"] == (2, 0, None, 1, 0.5, 1, 1, "delivery")
    assert view["cracked-case"] == (10, 10, pytest.approx(2.4), 8, pytest.approx(0.8), 8, 8, "reliability")
    assert view["product-0"] == (10, 10, pytest.approx(3.6), 2, pytest.approx(0.2), 2, 2, "delivery")
    assert dict(by_product) == {"cracked-case": 8}

    hotspots = product_hotspots(engine, Window(day, day), ["reviews"])
    assert [(h["product"], h["records_with_pain"]) for h in hotspots] == [("cracked-case", 8)]
    assert hotspots[0]["rest_share"] == pytest.approx(0.2) and hotspots[0]["excess"] == pytest.approx(6.0)
    findings = read_findings(engine, Window(day, day), ["reviews"])
    markdown, page = told(engine, Window(day, day), findings, tmp_path, "불편이 유난히 많은 상품")
    assert ("| 2026년 10월 1일–7일 | reviews | cracked-case | 10 | 8 | 80% | 20% | 2.40 | reliability |"
            in markdown)
    assert "<td>cracked-case</td>" in page
    engine.dispose()


def test_increases_are_told_only_against_a_period_that_was_mined(warehouse_url):
    engine = connect(warehouse_url)
    ensure_schema(engine)
    week = Window(date(2026, 10, 8), date(2026, 10, 14))
    write(engine, week, [pain_doc(f"now-{i}", week.end) for i in range(3)])
    summary = RunSummary("run", week, RunCounts(), 1.0)
    first = render_markdown(summary, read_findings(engine, week, ["reviews"]))
    assert "**집계:** 읽은 기록 0 = 분석에 쓴 기록 0 + 제외한 기록 0." in first
    increases = first.split("## 직전 기간보다 가장 많이 늘어난 불편")[1].split("\n## ")[0]
    assert "직전 기간(2026년 10월 1일–7일)에는 분석한 글이 없어 비교할 수 없어요." in increases
    assert "| delivery |" not in increases
    before = Window(date(2026, 10, 1), date(2026, 10, 7))
    write(engine, before, [pain_doc("before-0", before.start, pain=False)])  # mined, without pain
    then = render_markdown(summary, read_findings(engine, week, ["reviews"]))
    increases = then.split("## 직전 기간보다 가장 많이 늘어난 불편")[1].split("\n## ")[0]
    assert "| delivery | delivery | 3 | 0 | 새로 생김 \\(+3\\) |" in increases  # cells are literal markdown
    engine.dispose()


CONFIDENCE_COLUMNS = ("pain_probability", "category_score")


def test_pain_points_say_how_sure_their_tags_are(warehouse_url):
    engine = connect(warehouse_url)
    ensure_schema(engine)
    sure, untagged = pain_doc("r1", date(2026, 9, 1)), pain_doc("r2", date(2026, 9, 1))
    sure.sentences[0].pain_probability = 0.83
    sure.sentences[0].category_scores = {"delivery": 0.71, "waiting": 0.4, "staff": 0.02}
    write(engine, Window(date(2026, 9, 1), date(2026, 9, 1)), [sure, untagged])
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT source_id, pain_probability, category_score FROM pain_points "
                                 "JOIN feedback USING (feedback_id) ORDER BY source_id")).all()
    assert [tuple(r) for r in rows] == [("r1", pytest.approx(0.83), pytest.approx(0.71)), ("r2", None, None)]
    day = Window(date(2026, 9, 1), date(2026, 9, 1))
    top = top_pain_points(engine, day, ["reviews"])
    markdown = render_markdown(RunSummary("run", day, RunCounts(), 1.0),
                               Findings(changes=[], previous_mined=True, top=top, emerging=[], rising=[],
                                        costs=[], products=[]))
    severe = markdown.split("## 먼저 읽어 볼 불편")[1]
    assert "| 확신도 |" in severe and "| 0.83 |" in severe and "| – |" in severe
    engine.dispose()


@pytest.mark.parametrize("table, added", [(pain_points, CONFIDENCE_COLUMNS),
                                          (survey_responses, ("product",))])
def test_a_table_made_before_its_nullable_columns_gains_them(warehouse_url, table, added):
    engine = connect(warehouse_url)
    old = MetaData()
    Table(table.name, old, *(Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
                             for c in table.columns if c.name not in added))
    old.create_all(engine)
    ensure_schema(engine)
    ensure_schema(engine)
    with engine.connect() as conn:
        columns = conn.execute(text(f"SELECT * FROM {table.name} WHERE 1 = 0")).keys()
    assert set(added) <= set(columns)
    write(engine, Window(date(2026, 9, 1), date(2026, 9, 1)), [pain_doc("r1", date(2026, 9, 1))])
    engine.dispose()


def test_so_far_counts_of_a_month_stop_at_the_windows_end(warehouse_url):
    """A backfill of 10-20 … 10-22 run after later days were mined tells October up to the 22nd only."""
    engine = connect(warehouse_url)
    ensure_schema(engine)
    early, late = date(2026, 10, 5), date(2026, 10, 25)
    # Up to the window's end: delivery costs stars and 'cracked-case' hurts. After it: staff, 'late-lamp'.
    docs = [pain_doc(f"early-{n}", early, "후기", rating=1 if n < 2 else 5, pain=n < 2,
                     categories=("delivery",), product="cracked-case" if n < 2 else f"fine-{n}")
            for n in range(8)]
    docs += [pain_doc(f"late-{n}", late, "후기", rating=1, categories=("staff",), product="late-lamp")
             for n in range(8)]
    docs += [pain_doc(f"late-fine-{n}", late, "후기", rating=5, pain=False, product=f"fine-{n}")
             for n in range(8)]
    write(engine, Window(early, late), docs)
    backfill = Window(date(2026, 10, 20), date(2026, 10, 22))

    costs = pain_costs(engine, backfill, ["reviews"])
    assert [(c["category"], c["total"]) for c in costs] == [("delivery", 8)]  # not staff, not 16 reviews
    assert {p["product"] for p in product_hotspots(engine, backfill, ["reviews"])} <= {"cracked-case"}
    markdown = render_markdown(RunSummary("run", backfill, RunCounts(), 1.0),
                               read_findings(engine, backfill, ["reviews"]))
    assert "## 불편이 깎은 점수 · 2026년 10월 1일–22일" in markdown
    assert "| 2026년 10월 1일–22일 | 별점 | reviews | delivery | 2 | 8 |" in markdown
    # What BI reads is untouched: the view holds the whole month as written.
    with engine.connect() as conn:
        categories = conn.execute(text("SELECT category FROM v_rating_impact_by_category "
                                       "WHERE month = DATE '2026-10-01' ORDER BY category")).scalars().all()
    assert categories == ["delivery", "staff"]
    engine.dispose()


def test_duckdb_bulk_insert_stores_what_executemany_stores(tmp_path):
    """DuckDB takes the rows as an Arrow table (writes.insert_rows): every value, NULLs, time zones and
    dates included, must come back as a parameterised executemany stores it."""
    day = date(2026, 10, 1)
    docs = [pain_doc("a", day, "배송이 늦어요. 좋아요", nps=3, product="에어팟", pain_probability=0.8),
            pain_doc("b", day + timedelta(days=1), "환불이 안 돼요", kind="survey", rating=None, pain=False),
            pain_doc("c", day, "앱이 멈춰요. 최고", categories=("reliability",), response_needed=True)]
    [rows] = window_writes([SourceBatch("reviews")], docs, "run", "m", PiiMasker(), store_raw_text=True)
    tables = {feedback: rows.feedback, pain_points: rows.pain_points}
    stored = {}
    for way in ("bulk", "executemany"):
        engine = connect(f"duckdb:///{tmp_path / way}.duckdb")
        ensure_schema(engine)
        with engine.begin() as conn:
            for table, table_rows in tables.items():
                if way == "bulk":
                    insert_rows(conn, table, table_rows)
                else:
                    conn.execute(insert(table), table_rows)
        stored[way] = {table.name: dump(engine, table.name) for table in tables}
    assert stored["bulk"] == stored["executemany"]
    assert len(stored["bulk"]["feedback"]) == 3 and len(stored["bulk"]["pain_points"]) == 2

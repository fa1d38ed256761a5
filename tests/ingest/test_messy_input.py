"""A deliberately messy export: every record ends loaded or quarantined with its reason and location,
and the counts reconcile (read = loaded + quarantined)."""

from __future__ import annotations

import json
from datetime import date
from zoneinfo import ZoneInfo

from pipeline.config import SourceConfig
from pipeline.ingest.sources import open_source
from pipeline.text.language import detect_language
from pipeline.text.normalize import normalize_text
from pipeline.window import Window

SEOUL = ZoneInfo("Asia/Seoul")
OCTOBER = Window(date(2026, 10, 1), date(2026, 10, 31))
LONG_TEXT = "배송이 너무 늦고 포장도 엉망이었어요 " * 1000


def messy_rows() -> list[tuple[str, str, str, str]]:
    return [
        ("m1", "2026. 10. 3.", "1", "배송이 늦어요\r\n두 번째 줄"),
        ("m2", "2026년 10월 4일 오후 3시", "2", "<p>포장이&nbsp;<b>엉망</b></p>"),
        ("m3", "2026-10-05", "1", "NUL\x00 글자와\x07 제어 문자"),
        ("m4", "2026-10-06", "5", "👍👍🎉"),
        ("m5", "2026-10-06", "4", "   "),
        ("m6", "", "3", "날짜 없음"),
        ("m7", "지난주", "3", "날짜 이상"),
        ("m8", "2026-10-07", "3", "The app keeps crashing after the update"),
        ("m9", "2026-10-08", "1", LONG_TEXT),
        ("m2", "2026-10-09", "1", "같은 번호로 다시 쓴 글"),
        ("m10", "2026-10-09", "별로", "별점이 글자"),
    ]


def write_csv(path, encoding: str) -> None:
    lines = ["id,date,stars,body"]
    for row in messy_rows():
        lines.append(",".join(f'"{v}"' for v in row))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding, errors="strict"))


def test_every_messy_record_is_loaded_or_quarantined_with_a_reason(tmp_path):
    path = tmp_path / "messy.csv"
    write_csv(path, "utf-8-sig")
    source = open_source(SourceConfig.model_validate({
        "name": "reviews", "kind": "review", "path": str(path),
        "columns": {"id": "id", "created_at": "date", "rating": "stars", "text": "body"},
    }), SEOUL)
    batch = source.read(OCTOBER)
    loaded = {item.source_id: item for item in batch.items}
    # Locations are the line each record starts on: m1 spans two lines, so m2 starts on line 4.
    reasons = {json.loads(q.raw)["id"] + "@" + q.location.rsplit(":", 1)[1]: q.reason
               for q in batch.quarantine}
    assert batch.records_read == len(messy_rows()) == len(batch.items) + len(batch.quarantine)
    assert set(loaded) == {"m1", "m2", "m3", "m8", "m9"}
    assert loaded["m2"].text == "같은 번호로 다시 쓴 글", "the later record with a duplicated id wins"
    assert reasons == {
        "m2@4": f"duplicate id: superseded by {path}:12",
        "m4@6": "no words: emoji or symbols only",
        "m5@7": "empty text",
        "m6@8": "missing date",
        "m7@9": "unparseable date",
        "m10@13": "rating '별로' is not in 1–5",
    }
    assert loaded["m1"].text == "배송이 늦어요\r\n두 번째 줄"
    assert normalize_text(loaded["m1"].text) == "배송이 늦어요\n두 번째 줄"
    assert normalize_text(loaded["m3"].text) == "NUL 글자와 제어 문자"
    assert detect_language(normalize_text(loaded["m8"].text)) == "en"
    assert len(loaded["m9"].text) > 20_000, "long texts are kept whole, never truncated"


def test_the_same_export_in_cp949_reads_the_same(tmp_path):
    utf8, cp949 = tmp_path / "utf8.csv", tmp_path / "cp949.csv"
    write_csv(utf8, "utf-8")
    rows = [r for r in messy_rows() if r[0] != "m4"]
    body = "".join(",".join(f'"{v}"' for v in r) + "\r\n" for r in rows)
    cp949.write_bytes(("id,date,stars,body\r\n" + body).encode("cp949"))
    config = {"name": "reviews", "kind": "review",
              "columns": {"id": "id", "created_at": "date", "rating": "stars", "text": "body"}}
    read = {name: open_source(SourceConfig.model_validate({**config, "path": str(tmp_path / name)}), SEOUL)
            .read(OCTOBER) for name in ("utf8.csv", "cp949.csv")}
    assert [i.text for i in read["cp949.csv"].items] == [i.text for i in read["utf8.csv"].items]

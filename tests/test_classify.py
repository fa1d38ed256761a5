"""`sori classify` on an analyst's export: one row per input row (or per sentence), any format."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from flows.cli import main
from pipeline.classify import ROW_COLUMNS, write_table

FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"지금 클릭\")", "=cmd|' /C calc'!A0", "+1+1", "@SUM(1,1)",
            "-2+3 할인이라더니", "=배송이 늦어요", "\t=1+1", "\r=1+1"]

ROWS = [
    ("a1", "배송은 빨랐는데 포장이 엉망이라 박스가 다 찌그러져 왔어요. 환불해주세요"),
    ("a2", "너무 좋아요 또 살게요 ㅎㅎ"),
    ("a3", ""),
    ("a4", "상담원 연결이 안돼서 한시간 기다렸어요ㅠㅠ 010-1234-5678로 연락주세요"),
]


@pytest.fixture
def export(tmp_path):
    path = tmp_path / "export.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["번호", "내용"])
        writer.writerows(ROWS)
    return path


@pytest.mark.slow
def test_one_row_per_input_row(export, tmp_path):
    out = tmp_path / "tagged.parquet"
    assert main(["classify", str(export), "--text-column", "내용", "--id-column", "번호",
                 "--out", str(out)]) == 0
    frame = pd.read_parquet(out)
    assert list(frame.columns) == ROW_COLUMNS
    assert list(frame["id"]) == ["a1", "a2", "a3", "a4"]
    by_id = frame.set_index("id")
    assert by_id.loc["a1", "has_pain"] == 1 and "packaging" in by_id.loc["a1", "categories"].split(";")
    assert by_id.loc["a2", "has_pain"] == 0 and by_id.loc["a2", "categories"] == ""
    assert by_id.loc["a1", "response_needed"] == 1 and by_id.loc["a2", "response_needed"] == 0
    assert by_id.loc["a3", "note"] == "empty text"
    assert by_id.loc["a4", "sentiment"] in {"negative", "neutral", "positive"}


@pytest.mark.slow
def test_sentence_rows_keep_offsets_and_mask_personal_data(export, tmp_path):
    out = tmp_path / "sentences.jsonl"
    assert main(["classify", str(export), "--text-column", "내용", "--out", str(out), "--sentences"]) == 0
    frame = pd.read_json(out, lines=True, dtype={"id": str})
    assert {"id", "sentence", "sentiment", "p_negative", "has_pain", "categories"} <= set(frame.columns)
    mixed = frame[frame["id"] == "1"].sort_values("sentence_index")
    assert len(mixed) >= 2 and mixed["has_pain"].max() == 1
    pains = frame[frame["has_pain"] == 1]
    assert (pains["pain_probability"] >= 0.5).all() and pains["category_score"].notna().all()
    assert frame[frame["has_pain"] == 0]["category_score"].isna().all()
    assert not frame["sentence"].str.contains("010-1234-5678").any()
    asking = frame[frame["response_needed"] == 1]["sentence"]
    assert asking.str.contains("환불해주세요").any() and not asking.str.contains("너무 좋아요").any()


def test_no_csv_cell_starts_a_formula_and_numbers_stay_numbers(tmp_path):
    out = tmp_path / "tagged.csv"
    frame = pd.DataFrame({"id": FORMULAS, "sentence": [f"{text} 배송" for text in FORMULAS],
                          "p_negative": [-0.5] * len(FORMULAS), "severity": pd.array([-1] * len(FORMULAS),
                                                                                     dtype="Int64")})
    write_table(frame, str(out))
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [row["id"] for row in rows] == [f"'{text}" for text in FORMULAS]
    assert [row["sentence"] for row in rows] == [f"'{text} 배송" for text in FORMULAS]
    assert {row["p_negative"] for row in rows} == {"-0.5"} and {row["severity"] for row in rows} == {"-1"}
    written = pd.read_csv(out)
    assert written["p_negative"].dtype == float and (written["p_negative"] == -0.5).all()

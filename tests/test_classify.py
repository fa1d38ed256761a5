"""`sori classify` on an analyst's export: one row per input row (or per sentence), any format,
streamed chunk by chunk; no CSV cell it writes can start a formula."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence

import pandas as pd
import pytest

from flows.cli import main
from pipeline.classify import ROW_COLUMNS, ClassifyError, TableWriter, classify_file, open_texts
from pipeline.document import Document, Sentence

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
    with TableWriter(str(out)) as writer:
        writer.write(frame)
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [row["id"] for row in rows] == [f"'{text}" for text in FORMULAS]
    assert [row["sentence"] for row in rows] == [f"'{text} 배송" for text in FORMULAS]
    assert {row["p_negative"] for row in rows} == {"-0.5"} and {row["severity"] for row in rows} == {"-1"}
    written = pd.read_csv(out)
    assert written["p_negative"].dtype == float and (written["p_negative"] == -0.5).all()


class StubPipeline:
    """Stands in for the models: one pain sentence per non-empty text, topic 1 once a model was
    "fitted" (by `mine`), -1 before; fails on call number `fail_on`."""

    def __init__(self, fail_on: int | None = None):
        self.calls: list[tuple[str, int]] = []
        self.fail_on = fail_on

    def mine(self, docs: list[Document], save_topics: bool) -> list[Document]:
        assert not save_topics, "classify never saves a topic model"
        return self._tag("mine", docs)

    def run(self, docs: list[Document]) -> list[Document]:
        return self._tag("run", docs)

    def _tag(self, how: str, docs: list[Document]) -> list[Document]:
        self.calls.append((how, len(docs)))
        if len(self.calls) == self.fail_on:
            raise RuntimeError("the model crashed")
        for doc in docs:
            text = doc.item.text
            if text:
                doc.sentences = [Sentence(0, 0, len(text), text, is_pain=True, sentiment="negative",
                                          categories=["delivery"], touchpoint="delivery", topic_id=1,
                                          topic_label="배송", severity=3, severity_score=0.5)]
        return docs


def read_back(path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".jsonl":
        return pd.read_json(path, lines=True, dtype={"id": str}) if path.read_text() else pd.DataFrame()
    return pd.read_csv(path, dtype={"id": str}, keep_default_na=False)


def classify_rows(rows: Sequence[tuple[str, str]], out, pipeline: StubPipeline, chunk_rows: int) -> tuple:
    with TableWriter(str(out)) as writer:
        return classify_file(rows, pipeline, writer, chunk_rows=chunk_rows)  # type: ignore[arg-type]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_rows_are_classified_and_written_a_chunk_at_a_time(tmp_path, suffix):
    rows = [(f"r{i}", f"배송이 {i}일 늦어요") for i in range(7)]
    pipeline = StubPipeline()
    out = tmp_path / f"tagged{suffix}"
    assert classify_rows(iter(rows), out, pipeline, chunk_rows=3) == (7, 7)
    assert pipeline.calls == [("mine", 3), ("run", 3), ("run", 1)], "only the first chunk may fit topics"
    frame = read_back(out)
    assert list(frame.columns) == ROW_COLUMNS and list(frame["id"]) == [row_id for row_id, _ in rows]
    assert (frame["has_pain"] == 1).all() and (frame["topic_id"] == 1).all()


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_a_crash_keeps_every_chunk_written_before_it(tmp_path, suffix):
    out = tmp_path / f"tagged{suffix}"
    with pytest.raises(RuntimeError, match="crashed"):
        classify_rows([(f"r{i}", "배송이 늦어요") for i in range(10)], out, StubPipeline(fail_on=3), 4)
    assert list(read_back(out)["id"]) == [f"r{i}" for i in range(8)]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_an_empty_input_still_gets_its_columns(tmp_path, suffix):
    out = tmp_path / f"tagged{suffix}"
    assert classify_rows([], out, StubPipeline(), 3) == (0, 0)
    frame = read_back(out)
    assert list(frame.columns) == ROW_COLUMNS and frame.empty


def test_ids_and_texts_of_every_kind_of_row(tmp_path):
    path = tmp_path / "export.jsonl"
    lines = [{"no": "x1", "text": "좋아요"}, {"no": None, "text": "늦어요"}, "{broken", {"no": 7},
             {"no": "x5", "text": None}]
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n",
                    encoding="utf-8")
    assert list(open_texts(str(path), "text", "no")) == [("x1", "좋아요"), ("2", "늦어요"), ("3", ""),
                                                         ("7", ""), ("x5", "")]
    assert [row_id for row_id, _ in open_texts(str(path), "text", None)] == ["1", "2", "3", "4", "5"]


def test_columns_are_checked_on_the_first_record_that_parses(tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_text('{broken\n{"no": 1, "body": "늦어요"}\n', encoding="utf-8")
    with pytest.raises(ClassifyError, match="--text-column 'text' is not a column of .*: no, body$"):
        open_texts(str(path), "text", None)
    with pytest.raises(ClassifyError, match="--id-column 'id' is not a column"):
        open_texts(str(path), "body", "id")


@pytest.mark.slow
def test_chunked_output_is_the_output_of_one_chunk(export, tmp_path):
    """Streaming changes when rows are written, not what is written (no topic model is fitted on so
    few pain sentences, either way)."""
    whole, chunked = tmp_path / "whole.parquet", tmp_path / "chunked.parquet"
    for out, chunk in ((whole, "1000"), (chunked, "1")):
        assert main(["classify", str(export), "--text-column", "내용", "--id-column", "번호",
                     "--out", str(out), "--sentences", "--chunk-rows", chunk]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(chunked), pd.read_parquet(whole), rtol=1e-5)


@pytest.mark.slow
def test_a_classified_csv_has_no_cell_that_starts_a_formula(tmp_path):
    export = tmp_path / "formulas.csv"
    with open(export, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([("번호", "내용"), *((text, f"{text} 배송이 늦어요") for text in FORMULAS)])
    out = tmp_path / "tagged.csv"
    assert main(["classify", str(export), "--text-column", "내용", "--id-column", "번호", "--out", str(out),
                 "--sentences"]) == 0
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {row["id"] for row in rows} == {f"'{text}" for text in FORMULAS}
    assert rows and not any(row["sentence"].startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows)


def test_an_id_with_an_invisible_character_is_written_escaped(tmp_path) -> None:
    from pipeline.classify import open_texts

    path = tmp_path / "in.csv"
    path.write_text("번호,내용\nm2\x002,배송이 늦어요\nm3\u202e,좋아요\n", encoding="utf-8")
    assert [row_id for row_id, _ in open_texts(str(path), "내용", "번호")] == ["m2\\x002", "m3\\u202e"]

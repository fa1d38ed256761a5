"""`tune_document_pass`: refused clearly without the shared data; on a few dev texts, every threshold
scored against the whole-text pass."""

from __future__ import annotations

import pytest

from models.evaluation import tune_document_pass
from models.training.shared_data import SharedDataMissing


def test_without_shared_data_it_is_refused_before_any_model_loads(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SORI_SHARED_DATA", str(tmp_path / "nowhere"))
    assert tune_document_pass.main(["--limit", "10"]) == 2
    assert "nowhere" in capsys.readouterr().err


@pytest.mark.slow
def test_every_threshold_is_scored_against_the_whole_text_pass() -> None:
    try:
        result = tune_document_pass.run(60, None)
    except SharedDataMissing as exc:
        pytest.skip(f"development data not mounted: {exc}")
    for figures in result.values():
        assert 0 < figures["multi_sentence"] <= figures["texts"]
        rows = [figures["thresholds"][t] for t in tune_document_pass.THRESHOLDS]
        spared = [row["spared"] for row in rows]
        assert spared == sorted(spared, reverse=True), "a higher threshold never spares more"
        assert all(row["labels_changed"] <= row["spared"] for row in rows)

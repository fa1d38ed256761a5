"""The VOC model's training command on a tiny written set: it runs, the loss falls, it resumes from its
checkpoint where it stopped, and the saved model loads and scores each sentence alone."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from models.training.train_voc import CHECKPOINT, main
from models.training.voc_corpus import COLUMNS
from models.voc import VocModel

pytestmark = pytest.mark.slow

PAIN = [
    ("상담원 연결까지 한 시간 넘게 기다렸어요", "waiting", "support"),
    ("주문한 지 일주일째인데 아직도 배송 준비중이네요", "delivery", "delivery"),
    ("앱 업데이트하고 나서 실행하자마자 꺼져요", "reliability", "usage"),
    ("환불 요청했는데 2주째 돈이 안 들어와요", "price_payment", "return"),
    ("로그인할 때마다 인증번호가 안 와요", "account", "signup"),
    ("직원분이 대답도 안 하고 무시하더라고요", "staff", "usage"),
]
CALM = ["배송 빨리 와서 좋았어요", "친절하게 안내해 주셔서 감사합니다", "어제 주문했어요", "불만 없습니다"]


def write_tiny_corpus(root: Path) -> tuple[Path, Path]:
    corpus, tagging = root / "voc", root / "tagging"
    corpus.mkdir()
    tagging.mkdir()
    with (corpus / "tiny.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for i, (text, category, touchpoint) in enumerate(PAIN * 4):
            writer.writerow(
                [
                    f"{text} {'!' * i}".strip(),
                    1,
                    category,
                    touchpoint,
                    i % 2,
                    "review",
                    "shop",
                    "clean",
                    "complaint",
                ]
            )
        for i, text in enumerate(CALM * 4):
            writer.writerow([f"{text} {'~' * i}".strip(), 0, "", "", "", "survey", "shop", "clean", "praise"])
    (tagging / "phrases.csv").write_text(
        "text,categories,touchpoint\n포장이 다 뜯겨서 왔어요,packaging,delivery\n", encoding="utf-8"
    )
    (tagging / "pain_examples.csv").write_text(
        "text,has_pain,kind\n정말 만족합니다,0,praise\n", encoding="utf-8"
    )
    return corpus, tagging


def run(out: Path, corpus: Path, tagging: Path, *extra: str) -> dict:
    assert (
        main(
            [
                "--out",
                str(out),
                "--corpus",
                str(corpus),
                "--tagging",
                str(tagging),
                "--frozen-layers",
                "10",
                "--batch-size",
                "8",
                "--lr",
                "1e-3",
                "--log-every",
                "5",
                "--dev-share",
                "0.2",
                *extra,
            ]
        )
        == 0
    )
    return json.loads((out / "training_run.json").read_text(encoding="utf-8"))


def test_training_runs_learns_resumes_and_loads(tmp_path):
    corpus, tagging = write_tiny_corpus(tmp_path)
    out = tmp_path / "model"
    first = run(out, corpus, tagging, "--epochs", "6", "--max-steps", "15")
    assert first["steps"] == 15 and first["stopped_by"] == "max_steps"
    assert (out / CHECKPOINT).is_file()
    resumed = run(out, corpus, tagging, "--epochs", "6", "--max-steps", "30", "--resume")
    assert resumed["steps"] == 30, "the resumed run continues from step 15, not from 0"
    assert resumed["last_loss"] < first["first_loss"] * 0.7, "the loss falls on a set this small"

    model = VocModel(out)
    texts = [text for text, _, _ in PAIN] + CALM
    alone = [model.score([text]) for text in texts]
    together = model.score(texts, batch_size=4)
    for i, single in enumerate(alone):
        np.testing.assert_allclose(together.pain[i], single.pain[0], atol=1e-4)
        np.testing.assert_allclose(together.categories[i], single.categories[0], atol=1e-4)
        np.testing.assert_allclose(together.embeddings[i], single.embeddings[0], atol=1e-4)
    assert together.sentiment.shape == (len(texts), 3)
    heads = model.score_heads(texts, batch_size=4)  # each branch alone gives the whole pass's columns
    np.testing.assert_allclose(heads.sentiment, together.sentiment, atol=1e-5)
    np.testing.assert_allclose(model.embed(texts, batch_size=4), together.embeddings, atol=1e-5)
    assert (out / "MODEL_CARD.md").read_text(encoding="utf-8").startswith("# voc-e5")


def test_training_can_start_from_a_trained_model(tmp_path):
    """`--init` starts from a trained model's upper layers and heads: its first batches already score
    what the model learned, so the loss starts where the earlier run ended, not where it began. A model
    trained with other frozen layers is refused, since its weights would sit in other places."""
    corpus, tagging = write_tiny_corpus(tmp_path)
    trained = run(tmp_path / "trained", corpus, tagging, "--epochs", "6", "--max-steps", "15")
    again = run(tmp_path / "again", corpus, tagging, "--epochs", "6", "--max-steps", "5",
                "--init", str(tmp_path / "trained"))
    assert again["first_loss"] < trained["first_loss"] * 0.7
    assert again["started_from"] == trained["command"]
    assert trained["started_from"] is None
    with pytest.raises(ValueError, match="frozen_layers"):
        main(["--out", str(tmp_path / "refused"), "--corpus", str(corpus), "--tagging", str(tagging),
              "--frozen-layers", "11", "--init", str(tmp_path / "trained")])

"""ONNX Runtime backends: the exports agree with PyTorch, are built once, and `sori bench` runs.

No timing assertions: the machines running tests are shared and noisy; `sori bench` reports speed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.encoder import BUILTIN_ENCODER
from models.sentiment import BUILTIN_SENTIMENT

pytestmark = pytest.mark.slow

TEXTS = [
    "배송 빠르고 너무 좋아요",
    "최악이에요 다시는 안 삽니다",
    "이거 언제 배송되나요?",
    "환불 요청했는데 일주일째 답이 없어요. 고객센터 전화도 안 받고 정말 답답합니다.",
    "포장이 꼼꼼하고 상품도 설명 그대로예요. 다음에 또 주문할게요!",
    "앱이 자꾸 튕겨요ㅠㅠ",
    "상담원 연결까지 40분 기다렸어요 [전화번호]로 연락 주세요",
    "배송은빨랐는데포장이엉망이라박스가다찌그러져왔어요",
    "가격 대비 괜찮네요 ㅎㅎ",
    "사이즈가 생각보다 작아서 교환 신청했습니다",
    "The delivery was late 😡",
    "",
]


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    """Varied real sentences: Kiwi sentences of the bundled sample reviews."""
    from models.evaluation.bench import sample_texts

    return TEXTS + sample_texts(300)[1]


@pytest.fixture(scope="module")
def torch_classifier():
    from models.sentiment import SentimentClassifier

    return SentimentClassifier.from_pretrained(BUILTIN_SENTIMENT, "cpu")


def _onnx_classifier(precision: str):
    from models.onnx import OnnxSentimentClassifier

    return OnnxSentimentClassifier.from_pretrained(BUILTIN_SENTIMENT, "cpu", precision)  # type: ignore[arg-type]


def test_fp32_classifier_matches_torch(torch_classifier, sentences: list[str]) -> None:
    onnx = _onnx_classifier("fp32")
    reference = torch_classifier.predict(sentences).probs
    probs = onnx.predict(sentences, batch_size=16).probs
    assert probs.shape == reference.shape == (len(sentences), 3)
    np.testing.assert_allclose(probs, reference, atol=1e-3)
    assert onnx.temperature == torch_classifier.temperature
    assert onnx.settings == torch_classifier.settings


def test_int8_classifier_agrees_on_labels(torch_classifier, sentences: list[str]) -> None:
    reference = torch_classifier.predict(sentences).probs
    probs = _onnx_classifier("int8").predict(sentences).probs
    assert (probs.argmax(1) == reference.argmax(1)).mean() >= 0.96
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_int8_graph_is_calibrated_smoothed_and_keeps_the_spiking_projections_fp32(torch_classifier) -> None:
    """Static int8 (`models.quantize`): integer MatMuls with fixed scales, no scale computed at run
    time, one smoothing Mul per feed-forward up-projection, and the down-projections whose input spikes
    left in fp32, as the build records."""
    import json

    import onnx

    from models.onnx import FILES, MARKER, build

    directory = build("classifier", BUILTIN_SENTIMENT)
    marker = json.loads((directory / MARKER).read_text(encoding="utf-8"))
    nodes = onnx.load(str(directory / FILES["int8"])).graph.node
    ops = [node.op_type for node in nodes]
    layers = torch_classifier.model.config.num_hidden_layers
    assert marker["int8_calibration"].startswith("data/voc")
    assert ops.count("QLinearMatMul") == marker["int8_matmuls"] > 0
    assert "DynamicQuantizeLinear" not in ops and "MatMulInteger" not in ops
    assert sum(node.name.endswith("/smooth") for node in nodes if node.op_type == "Mul") == layers
    assert 0 <= marker["fp32_down_projections"] <= layers


def test_batching_and_order_do_not_change_results(sentences: list[str]) -> None:
    """The default backend must score a sentence the same whatever it is batched with, or a re-mined
    window (retag, an overlapping backfill) would not reproduce its rows."""
    onnx = _onnx_classifier("fp32")
    texts = sentences[:40]
    ref = onnx.predict(texts, batch_size=64).probs
    np.testing.assert_allclose(onnx.predict(texts[::-1], batch_size=3).probs[::-1], ref, atol=1e-5)
    assert onnx.predict([]).probs.shape == (0, 3)


def test_a_repeated_text_runs_once_and_gets_its_row_wherever_it_appears(
        sentences: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    onnx = _onnx_classifier("fp32")
    texts = sentences[:10]
    ref = onnx.predict(texts).probs
    session, rows_run = onnx.session, []

    class CountingSession:  # the real session, counting the rows it is given
        def run(self, names: object, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
            rows_run.append(len(feed["input_ids"]))
            return session.run(names, feed)

        def get_outputs(self) -> list[object]:
            return session.get_outputs()

    monkeypatch.setattr(onnx, "session", CountingSession())
    repeated = texts + texts[::-1] + texts[:3]
    np.testing.assert_allclose(onnx.predict(repeated).probs, np.vstack([ref, ref[::-1], ref[:3]]), atol=1e-6)
    assert sum(rows_run) == len(set(texts))


def test_int8_scores_do_not_depend_on_batch_mates(sentences: list[str]) -> None:
    """Static int8 fixes every activation scale at build time, so int8 re-mines a window as exactly as
    fp32 does (dynamic quantisation took its scale per batch and moved scores by up to 0.7)."""
    from models.onnx import OnnxVocModel
    from models.voc import BUILTIN_VOC

    int8 = OnnxVocModel.from_pretrained(BUILTIN_VOC, "cpu", "int8")
    texts = sentences[:40]
    alone = np.vstack([int8.outputs([text]) for text in texts])
    np.testing.assert_allclose(int8.outputs(texts[::-1], batch_size=3)[::-1], alone, atol=1e-5)
    np.testing.assert_allclose(int8.outputs(texts + sentences[100:160], batch_size=64)[:40], alone, atol=1e-5)


def test_a_branch_run_alone_gives_the_columns_of_the_whole_pass(sentences: list[str]) -> None:
    """The VOC build is cut into a graph per part, so a document's sentiment runs the heads alone and
    an example file or topic word the embedding alone; each must give exactly what the whole pass gives
    (the cut graphs run the same nodes, quantised as in the whole)."""
    import os

    from models.onnx import VOC_GRAPHS, OnnxVocModel, build
    from models.voc import BUILTIN_VOC

    built = set(os.listdir(build("voc", BUILTIN_VOC)))
    assert {f"{graph}.int8.onnx" for graph in VOC_GRAPHS} <= built and "model.int8.onnx" not in built
    int8 = OnnxVocModel.from_pretrained(BUILTIN_VOC, "cpu", "int8")
    texts = sentences[:30]
    whole = int8.score(texts)
    heads = int8.score_heads(texts)
    assert heads.embeddings is None
    for name in ("sentiment", "pain", "categories", "touchpoints", "response"):
        np.testing.assert_array_equal(getattr(heads, name), getattr(whole, name))
    np.testing.assert_array_equal(int8.embed(texts), whole.embeddings)
    with pytest.raises(ValueError, match="branches"):
        int8.outputs(texts, branches=("pooled",))


def test_the_built_tokenizer_gives_the_ids_of_the_models_transformers_tokenizer(sentences: list[str]) -> None:
    """The graphs are fed by `tokenizers` alone (no transformers or torch import at load); the ids,
    special tokens and truncation must stay those the model was exported and checked with."""
    from transformers import AutoTokenizer

    from models.onnx import BuiltTokenizer, build
    from models.voc import BUILTIN_VOC

    directory = build("voc", BUILTIN_VOC)
    reference = AutoTokenizer.from_pretrained(directory, local_files_only=True)
    built = BuiltTokenizer(directory)
    texts = [f"query: {t}" for t in sentences] + [" ".join(sentences[:80]), "", "😡" * 600]
    for length in (16, 128, 512):
        expected = reference(texts, truncation=True, max_length=length)["input_ids"]
        assert built.encode(texts, length) == expected
    assert built.pad_token_id == reference.pad_token_id


def test_loading_and_running_an_onnx_model_imports_neither_transformers_nor_torch() -> None:
    """Importing transformers (and torch with it) was most of a warm start-up's model load."""
    import subprocess
    import sys

    from models.onnx import build
    from models.voc import BUILTIN_VOC

    build("voc", BUILTIN_VOC)
    code = ("import sys; from models.onnx import OnnxVocModel; "
            "OnnxVocModel.from_pretrained('builtin:voc-e5', 'cpu', 'int8').score(['배송이 늦어요']); "
            "print(sorted(m for m in ('transformers', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_encoder_matches_sentence_transformers(sentences: list[str]) -> None:
    from models.encoder import load_sentence_encoder
    from models.onnx import OnnxSentenceEncoder

    reference = load_sentence_encoder(BUILTIN_ENCODER, "cpu").encode(
        sentences, prompt_name="query", normalize_embeddings=True, convert_to_numpy=True
    )
    fp32 = OnnxSentenceEncoder.from_pretrained(BUILTIN_ENCODER, "cpu", "fp32").encode(sentences, "query")
    int8 = OnnxSentenceEncoder.from_pretrained(BUILTIN_ENCODER, "cpu", "int8").encode(sentences, "query")
    assert fp32.dtype == np.float32 and fp32.shape == reference.shape
    np.testing.assert_allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-4)
    assert (fp32 * reference).sum(axis=1).min() >= 0.999
    assert (int8 * reference).sum(axis=1).mean() >= 0.99


def test_pipeline_embedder_and_topics_accept_the_onnx_encoder() -> None:
    from bertopic.backend._utils import select_backend

    from models.embedder import Embedder
    from pipeline.topics.embeddings import SoriEmbeddings

    embedder = Embedder(BUILTIN_ENCODER, "cpu", 8, backend="onnx-int8")
    vectors = embedder.embed(["배송이 너무 늦어요", "포장이 엉망이에요"])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert embedder.embed([]).shape == (0, 384)
    topics_embedder = SoriEmbeddings(embedder)
    assert select_backend(topics_embedder) is topics_embedder, "BERTopic must not swap in a hub model"


def test_build_is_cached_across_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    from models import onnx

    first = onnx.build("classifier", BUILTIN_SENTIMENT)
    marker = (first / onnx.MARKER).stat().st_mtime_ns
    onnx.build.cache_clear()  # as a new process would start

    def no_rebuild(*_args: object) -> dict[str, object]:
        raise AssertionError("an up-to-date build was exported again")

    monkeypatch.setattr(onnx, "_export_classifier", no_rebuild)
    assert onnx.build("classifier", BUILTIN_SENTIMENT) == first
    assert (first / onnx.MARKER).stat().st_mtime_ns == marker
    assert {p.name for p in first.iterdir()} >= {"model.onnx", "model.int8.onnx", onnx.MARKER}


def test_failed_build_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from models import onnx

    def boom(_name: str, out: Path) -> dict[str, object]:
        (out / "model.onnx").write_bytes(b"half")
        raise RuntimeError("killed mid-export")

    monkeypatch.setattr(onnx, "_export_classifier", boom)
    with pytest.raises(RuntimeError, match="killed"):
        onnx.build("classifier", BUILTIN_SENTIMENT, tmp_path)
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []


def test_sori_bench_quick_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    from flows.cli import main

    assert main(["bench", "--quick"]) == 0
    out = capsys.readouterr().out
    for row in ("(a) transformers pipeline", "(b) sori torch", "(c) ONNX Runtime fp32",
                "(d) ONNX Runtime int8", "whole classify path", "onnx-int8", "agreement with (b)"):
        assert row in out


def test_the_voc_model_export_matches_torch_and_is_batch_invariant(sentences: list[str]) -> None:
    """The default model's one pass on ONNX Runtime scores as PyTorch does, and a sentence's scores do
    not depend on its batch mates or their order."""
    from models.onnx import OnnxVocModel
    from models.voc import BUILTIN_VOC, VocModel

    onnx, reference = OnnxVocModel.from_pretrained(BUILTIN_VOC, "cpu"), VocModel(BUILTIN_VOC).score(sentences)
    scores = onnx.score(sentences, batch_size=64)
    for head in ("sentiment", "pain", "categories", "touchpoints", "response"):
        np.testing.assert_allclose(getattr(scores, head), getattr(reference, head), atol=1e-3)
    assert (scores.embeddings * reference.embeddings).sum(axis=1).min() > 0.999
    texts = sentences[:40]
    mixed = onnx.score(texts[::-1], batch_size=3)
    for head in ("embeddings", "sentiment", "pain", "categories", "touchpoints"):
        np.testing.assert_allclose(getattr(mixed, head)[::-1], getattr(scores, head)[:40], atol=1e-5)
    assert onnx.score([]).pain.shape == (0,)


def test_the_voc_models_embedding_is_its_base_encoders(sentences: list[str]) -> None:
    """The one pass embeds with the base model's own upper layers: heads fitted on examples, prototypes
    and saved topic models read the same space as with the encoder alone."""
    from models.embedder import Embedder
    from models.onnx import OnnxVocModel
    from models.voc import BUILTIN_VOC, VocEncoder

    voc = Embedder(BUILTIN_ENCODER, encoder=VocEncoder(OnnxVocModel.from_pretrained(BUILTIN_VOC, "cpu")))
    encoder = Embedder(BUILTIN_ENCODER, "cpu", backend="onnx")
    assert (voc.embed(sentences) * encoder.embed(sentences)).sum(axis=1).min() > 0.9999

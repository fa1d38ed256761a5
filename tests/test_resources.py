"""The head cache: fitted heads stored as arrays under a digest of what they were fitted on, loaded by
every later process. The fast tests fit small arrays; the slow ones fit the real heads on the models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import ComplaintCues
from pipeline.resources import HeadCache, canonical, digest, read_arrays

REPO = Path(__file__).resolve().parents[1]


def arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"weights": rng.standard_normal((3, 4)), "keys": np.array(["a", "bb", "ccc"])}


class Fits:
    """A fit that counts its calls."""

    def __init__(self, seed: int = 0):
        self.calls = 0
        self.seed = seed

    def __call__(self) -> dict[str, np.ndarray]:
        self.calls += 1
        return arrays(self.seed)


def test_a_miss_fits_and_stores_and_a_later_process_loads(tmp_path) -> None:
    fit = Fits()
    first = HeadCache(tmp_path, lambda: "models-a").fitted(("head", 1.0), fit, dict)
    assert fit.calls == 1 and len(list(tmp_path.glob("*.npz"))) == 1
    again = Fits()
    loaded = HeadCache(tmp_path, lambda: "models-a").fitted(("head", 1.0), again, dict)
    assert again.calls == 0
    assert loaded.keys() == first.keys()
    assert all(np.array_equal(loaded[name], first[name]) for name in first)


def test_a_head_is_built_once_per_key_in_a_process(tmp_path) -> None:
    cache, fit = HeadCache(tmp_path, lambda: "models-a"), Fits()
    assert cache.fitted("head", fit, dict) is cache.fitted("head", fit, dict)
    assert fit.calls == 1


@pytest.mark.parametrize(("key", "identity"), [(("head", 2.0), "models-a"), (("head", 1.0), "models-b")])
def test_another_key_or_other_models_fit_again(tmp_path, key, identity) -> None:
    HeadCache(tmp_path, lambda: "models-a").fitted(("head", 1.0), Fits(), dict)
    fit = Fits(seed=1)
    HeadCache(tmp_path, lambda: identity).fitted(key, fit, dict)
    assert fit.calls == 1 and len(list(tmp_path.glob("*.npz"))) == 2


def test_the_digest_of_a_set_is_the_same_in_every_process() -> None:
    """Sets iterate in an order that changes with the string hash seed (pydantic's JSON of them too): a
    key that held one would never be found again by the next process."""
    code = textwrap.dedent("""
        from pipeline.config import ComplaintCues
        from pipeline.resources import digest
        print(digest(ComplaintCues(words=frozenset(["환불", "배송", "고장", "로그인", "결제", "지연"]))))
    """)
    digests = {subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                              check=True, env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout
               for seed in range(4)}
    assert len(digests) == 1


def test_a_key_keeps_the_order_of_a_mapping_and_refuses_what_it_cannot_digest() -> None:
    assert digest({"a": 1, "b": 2}) != digest({"b": 2, "a": 1})  # row order of a head follows the taxonomy
    assert canonical(ComplaintCues(words=frozenset({"b", "a"}))) == canonical(ComplaintCues(words={"a", "b"}))
    with pytest.raises(TypeError, match="cannot be keyed on a PosixPath"):
        digest(("head", Path("phrases.csv")))


def test_a_failed_fit_stores_nothing(tmp_path) -> None:
    def boom() -> dict[str, np.ndarray]:
        raise RuntimeError("encoder went away")

    with pytest.raises(RuntimeError, match="encoder went away"):
        HeadCache(tmp_path, lambda: "models-a").fitted("head", boom, dict)
    assert [p.name for p in tmp_path.iterdir()] == [".fitting.lock"]


def test_an_unreadable_file_is_fitted_again_and_replaced(tmp_path, caplog) -> None:
    cache = HeadCache(tmp_path, lambda: "models-a")
    path = cache.path("head")
    path.write_bytes(b"PK\x03\x04 cut short")
    fit = Fits()
    HeadCache(tmp_path, lambda: "models-a").fitted("head", fit, dict)
    assert fit.calls == 1 and "cannot be read" in caplog.text
    assert np.array_equal(read_arrays(path)["weights"], arrays()["weights"])


FIT_IN_A_PROCESS = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    import numpy as np
    from pipeline.resources import HeadCache

    def slow_fit():
        time.sleep(1.0)
        Path(sys.argv[2]).touch()  # one file per fit: the test counts them
        return {"weights": np.arange(2_000_000, dtype=np.float64)}

    head = HeadCache(Path(sys.argv[1]), lambda: "models-a").fitted("head", slow_fit, dict)
    print(json.dumps(float(head["weights"].sum())))
""")


def test_two_processes_fit_a_missing_head_once_and_both_read_it_whole(tmp_path) -> None:
    cache = tmp_path / "heads"
    processes = [subprocess.Popen([sys.executable, "-c", FIT_IN_A_PROCESS, str(cache),
                                   str(tmp_path / f"fit-{i}")], cwd=REPO, stdout=subprocess.PIPE, text=True)
                 for i in range(2)]
    sums = [json.loads(p.communicate(timeout=120)[0]) for p in processes]
    assert all(p.returncode == 0 for p in processes)
    assert sums == [float(np.arange(2_000_000).sum())] * 2
    assert len(list(tmp_path.glob("fit-*"))) == 1
    assert sorted(p.name for p in cache.iterdir() if not p.name.endswith(".lock")) == [HeadCache(
        cache, lambda: "models-a").path("head").name]  # no temporary file left beside it


@pytest.fixture(scope="module")
def small_config(tmp_path_factory):
    """The default config with the first rows of each example file, so fitting takes seconds."""
    import csv

    from pipeline.config import DEFAULT_CONFIG, load_config

    config = load_config(DEFAULT_CONFIG)
    directory = tmp_path_factory.mktemp("examples")
    for name, source in (("pain.csv", config.pain.examples), ("phrases.csv", config.tagging.phrases)):
        with open(source, encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        with open(directory / name, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows(rows[:81])
    config.pain.examples, config.tagging.phrases = directory / "pain.csv", directory / "phrases.csv"
    return config


def edited_taxonomy(config, directory: Path, edit) -> object:
    """`config` with its taxonomy written to `directory` after `edit(raw)`, as an analyst edits it."""
    import yaml

    raw = yaml.safe_load(config.taxonomy.read_text(encoding="utf-8"))
    edit(raw)
    directory.mkdir()
    path = directory / "taxonomy.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return config.model_copy(update={"taxonomy": path})


def fitting_logged(caplog) -> int:
    return sum("fitting a head" in record.getMessage() for record in caplog.records)


@pytest.mark.slow
def test_loaded_heads_score_exactly_as_fitted_ones(small_config, tmp_path, caplog) -> None:
    import logging

    from pipeline.components.pain import PainDetector
    from pipeline.components.tagger import PainTagger
    from pipeline.resources import Resources

    caplog.set_level(logging.INFO, logger="sori.resources")
    fitting = Resources(small_config.models, head_cache=tmp_path)
    detector = PainDetector.from_config(small_config, fitting)
    tagger = PainTagger.from_config(small_config, fitting)
    stored = {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.npz")}
    assert fitting_logged(caplog) == len(stored) == 3  # complaint head, category head, touchpoint prototypes

    loading = Resources(small_config.models, head_cache=tmp_path)  # nothing in memory, as in a new process
    loaded_detector = PainDetector.from_config(small_config, loading)
    loaded_tagger = PainTagger.from_config(small_config, loading)
    assert fitting_logged(caplog) == 3 and {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.npz")} == stored

    texts = ["배송이 일주일째 안 와요", "상담원이 친절했어요", "다 좋은데 앱이 자꾸 꺼져요",
             "환불 언제 되나요?", "비밀번호를 세 번 틀렸다고 아예 막혀버렸네요"]
    sentences = [s for group in fitting.score_texts(texts) for s in group]
    assert np.array_equal(detector.head.probabilities(sentences),
                          loaded_detector.head.probabilities(sentences))
    assert detector.judge(sentences) == loaded_detector.judge(sentences)
    for sentence in sentences:
        assert np.array_equal(tagger.head.probabilities(sentence.embedding),
                              loaded_tagger.head.probabilities(sentence.embedding))
    assert tagger.touchpoint_keys == loaded_tagger.touchpoint_keys
    assert np.array_equal(tagger.touchpoint_vectors, loaded_tagger.touchpoint_vectors)


@pytest.mark.slow
def test_a_taxonomy_edit_fits_new_heads_once(small_config, tmp_path) -> None:
    from pipeline.components.pain import PainDetector
    from pipeline.components.tagger import PainTagger
    from pipeline.resources import Resources

    def build(config) -> set[Path]:
        resources = Resources(config.models, head_cache=tmp_path / "heads")
        PainDetector.from_config(config, resources)
        PainTagger.from_config(config, resources)
        return set((tmp_path / "heads").glob("*.npz"))

    before = build(small_config)

    def add_category_example(raw: dict) -> None:
        next(iter(raw["categories"].values()))["examples"].append("택배가 엉뚱한 집 앞에 놓여 있었어요")

    def add_touchpoint_example(raw: dict) -> None:
        raw["touchpoints"]["support"]["examples"].append("챗봇만 계속 같은 답을 해요")

    category_edit = build(edited_taxonomy(small_config, tmp_path / "category", add_category_example))
    # Only the category head: the complaint head reads no taxonomy example, prototypes no category.
    assert len(category_edit - before) == 1
    touchpoint_edit = build(edited_taxonomy(small_config, tmp_path / "touchpoint", add_touchpoint_example))
    assert len(touchpoint_edit - category_edit) == 1  # the touchpoint prototypes
    assert build(small_config) == touchpoint_edit  # the unedited taxonomy's heads are still there: loaded


@pytest.mark.slow
def test_one_voc_pass_sets_sentiment_embedding_and_heads(small_config, monkeypatch) -> None:
    """With a VOC model the sentiment stage leaves nothing for the embed stage to compute: one encoder
    pass per sentence."""
    from pipeline.components.embedder import EmbedSentences
    from pipeline.resources import Resources
    from pipeline.text.korean import KoreanAnalyzer

    resources = Resources.for_models(small_config.models)
    assert resources.voc is not None and resources.classifier is None
    sentences = KoreanAnalyzer(resources.kiwi).sentences(["앱이 자꾸 튕겨요. 고객센터는 전화를 안 받아요"])[0]
    resources.score_sentences(sentences)
    embedded = [s.embedding for s in sentences]
    assert all(s.heads is not None and s.heads.pain > 0.5 for s in sentences)
    assert set(sentences[0].heads.categories) == set(resources.voc.settings.categories)
    calls, score = [], resources.voc.score
    monkeypatch.setattr(resources.voc, "score", lambda *a, **k: calls.append(a) or score(*a, **k))
    EmbedSentences(resources)([_document(sentences)])
    assert calls == [] and all(s.embedding is e for s, e in zip(sentences, embedded, strict=True))


def _document(sentences):
    from datetime import UTC, datetime

    from pipeline.document import Document, FeedbackItem

    created = datetime(2026, 1, 1, tzinfo=UTC)
    item = FeedbackItem(source="t", kind="review", channel="review", source_id="1", created_at=created,
                        record_date=created.date(), text=" ".join(s.text for s in sentences))
    return Document(item=item, sentences=list(sentences))


@pytest.mark.slow
def test_the_lexical_view_is_blended_in_from_the_morphemes_the_split_recorded(small_config,
                                                                                monkeypatch) -> None:
    """With `models.lexical_sentiment` the sentence sentiment is the blend of the model's and the
    lexical view's, read from the split's morphemes: Kiwi does not run a second time."""
    from models.lexical import blend_log_probabilities
    from pipeline.resources import Resources
    from pipeline.text.korean import KoreanAnalyzer

    models = small_config.models
    assert models.lexical_sentiment and models.lexical_weight > 0
    blended = Resources.for_models(models)
    alone = Resources.for_models(models.model_copy(update={"lexical_sentiment": None}))
    assert alone.lexical is None
    texts = ["배송도 늦고 포장도 엉망이라 최악이에요", "직원분들이 친절해서 정말 만족스러웠어요"]
    sentences = KoreanAnalyzer(blended.kiwi).sentences(texts)
    first, second = [s for group in sentences for s in group], [s for group in
                                                                KoreanAnalyzer(alone.kiwi).sentences(texts)
                                                                for s in group]
    monkeypatch.setattr(blended.kiwi, "tokenize", lambda *a, **k: pytest.fail("Kiwi ran again"))
    blended.score_sentences(first)
    alone.score_sentences(second)
    assert [s.sentiment for s in first] == ["negative", "positive"]
    voc = alone.voc.score([s.model_text for s in second]).sentiment
    lexical = blended.lexical.log_proba_morphemes([s.morphemes for s in first])
    expected = blend_log_probabilities(voc, lexical, models.lexical_weight, models.lexical_temperature)
    np.testing.assert_allclose([[s.p_negative, s.p_positive] for s in first], expected[:, [0, 2]], atol=1e-4)

"""Topics: stable sori ids across refits, lineage statuses, analyst labels, save/load, determinism."""

from __future__ import annotations

import csv
import os
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, select, text

from pipeline.config import DEFAULT_CONFIG, ModelsConfig, TopicsConfig
from pipeline.topics.model import (
    META_FILE,
    OUTLIER,
    OUTLIER_LABEL,
    Lineage,
    TopicLabels,
    TopicMeta,
    TopicProfile,
    load_topic_labels,
    match_topics,
    membership_overlap,
)
from tests.conftest import SHARED_DATA
from tests.factories import pain_doc

# --- matching on constructed topics (no models) --------------------------------------------------

DIM = 32


def basis(*indexes: int, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """A centroid made of orthogonal directions, so constructed topics relate exactly as intended."""
    vector = np.zeros(DIM)
    vector[list(indexes)] = 1.0
    return vector + noise * np.random.default_rng(seed).normal(size=DIM)


def words(*groups: str) -> list[str]:
    return [f"{group}{i}" for group in groups for i in range(5)]


PREVIOUS = {
    10: TopicProfile(basis(0), words("배송")),
    11: TopicProfile(basis(1), words("환불")),
    12: TopicProfile(basis(2), words("로그인")),
    13: TopicProfile(basis(3), words("광고")),
}


def test_where_the_sentences_go_decides_between_two_similar_topics():
    """Two delivery topics whose centroids and words fit either refit topic: the one that holds most of
    a previous topic's sentences carries its id on."""
    previous = {10: TopicProfile(basis(0, 1), words("배송")), 11: TopicProfile(basis(0, 2), words("배송"))}
    current = {0: TopicProfile(basis(0, 2), words("배송")), 1: TopicProfile(basis(0, 1), words("배송"))}
    assert match_topics(previous, current, next_id=12).ids == {0: 11, 1: 10}
    before, after = [10] * 8 + [11] * 4, [0] * 7 + [1] + [1] * 4
    overlap = membership_overlap(before, after, list(previous), list(current))
    assert overlap[0, 0] == 2 * 7 / (8 + 7)
    assert match_topics(previous, current, next_id=12, overlap=overlap).ids == {0: 10, 1: 11}


def test_the_same_topics_in_another_order_keep_their_ids():
    current = {0: TopicProfile(basis(2, noise=0.05), words("로그인")),
               1: TopicProfile(basis(0, noise=0.05, seed=1), words("배송")),
               2: TopicProfile(basis(3, noise=0.05, seed=2), words("광고")),
               3: TopicProfile(basis(1, noise=0.05, seed=3), words("환불"))}
    matching = match_topics(PREVIOUS, current, next_id=14)
    assert matching.ids == {0: 12, 1: 10, 2: 13, 3: 11}
    assert {sid: line.status for sid, line in matching.lineage.items()} == dict.fromkeys(PREVIOUS, "kept")
    assert matching.lineage[12].parents == (12,) and matching.lineage[12].score > 0.9
    assert matching.next_id == 14


def test_merged_split_retired_and_new_topics():
    current = {
        0: TopicProfile(basis(0, 1), words("배송", "환불")),  # 10 and 11 → one topic
        1: TopicProfile(basis(2, 4), words("로그인")[:4] + ["인증"]),  # 12 → two topics
        2: TopicProfile(basis(2, 5), words("로그인")[1:] + ["비밀번호"]),
        3: TopicProfile(basis(6), words("앱")),  # nothing before it
    }  # 13 (광고) has no successor
    matching = match_topics(PREVIOUS, current, next_id=14)
    lineage = matching.lineage
    merged = matching.ids[0]
    assert merged in (10, 11) and lineage[merged].status == "merged"
    assert lineage[merged].parents == (10, 11)
    split = {matching.ids[1], matching.ids[2]}
    assert 12 in split and split - {12} == {14}
    assert all(lineage[sid].status == "split" and lineage[sid].parents == (12,) for sid in split)
    assert matching.ids[3] == 15 and lineage[15] == Lineage("new")
    assert lineage[13] == Lineage("retired", (13,))
    assert matching.next_id == 16
    assert not set(matching.ids.values()) & {13}, "a retired id is never handed out again"


def test_unrelated_topics_are_never_matched_and_ids_are_never_reused():
    current = {0: TopicProfile(basis(7), words("가")), 1: TopicProfile(basis(8), words("나"))}
    matching = match_topics(PREVIOUS, current, next_id=20)
    assert matching.ids == {0: 20, 1: 21} and matching.next_id == 22
    assert all(matching.lineage[sid].status == "retired" for sid in PREVIOUS)


def test_a_first_model_numbers_its_topics_from_the_first_id():
    current = {0: TopicProfile(basis(0), words("배송")), 1: TopicProfile(basis(1), words("환불"))}
    matching = match_topics({}, current, next_id=0)
    assert matching.ids == {0: 0, 1: 1}
    assert all(line.status == "new" for line in matching.lineage.values())


def test_centring_separates_topics_that_raw_cosine_cannot():
    """e5 centroids share one large common direction; centred on the corpus mean they differ again."""
    common = basis(20) * 10
    previous = {0: TopicProfile(common + basis(0), ["a"]), 1: TopicProfile(common + basis(1), ["b"])}
    current = {5: TopicProfile(common + basis(1), ["c"]), 6: TopicProfile(common + basis(0), ["d"])}
    assert match_topics(previous, current, 2, center=common).ids == {5: 1, 6: 0}


def test_meta_round_trips_through_json():
    meta = TopicMeta("v2", "enc", {-1: -1, 0: 12, 1: 14}, 15, 0.91,
                     {12: Lineage("kept", (12,), 0.8), 14: Lineage("new"), 13: Lineage("retired", (13,))},
                     {13: {"label": "광고", "keywords": "광고;팝업"}}, "v1", 0.4, 0.1)
    assert TopicMeta.from_json(meta.to_json()) == meta


# --- analyst labels -------------------------------------------------------------------------------


def test_the_shipped_labels_file_is_valid_and_empty():
    assert load_topic_labels(DEFAULT_CONFIG.parent / "topic_labels.yaml") == {}


@pytest.mark.parametrize("content, message", [
    ("- 배송\n", "mapping"),
    ("-1: 기타\n", "topic id"),
    ("abc: 배송\n", "topic id"),
    ("3: ''\n", "non-empty"),
    (f"3: {'가' * 257}\n", "longer than"),
])
def test_a_broken_labels_file_is_refused(tmp_path, content, message):
    path = tmp_path / "labels.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_topic_labels(path)


def test_labels_are_read_again_when_the_file_changes(tmp_path):
    path = tmp_path / "labels.yaml"
    labels = TopicLabels(path)
    assert labels.get() == {}
    path.write_text("3: 배송 지연\n", encoding="utf-8")
    assert labels.get() == {3: "배송 지연"}
    path.write_text("3: 배송 지연 \n12: 환불 거절\n", encoding="utf-8")
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)
    assert labels.get() == {3: "배송 지연", 12: "환불 거절"}


def test_the_labels_path_is_a_key_of_the_topics_config(tmp_path):
    from pipeline.config import load_config

    config = load_config()
    assert config.topics.labels == DEFAULT_CONFIG.parent / "topic_labels.yaml"
    path = tmp_path / "sori.yaml"
    path.write_text("topics: {labels: null}\n", encoding="utf-8")
    assert load_config(path).topics.labels is None


def test_an_old_topics_table_gains_the_lineage_columns(warehouse_url):
    from pipeline.warehouse.schema import ensure_schema

    engine = create_engine(warehouse_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE topics (model_version VARCHAR(40), topic_id INTEGER, "
                          "label VARCHAR(256), keywords TEXT, size INTEGER)"))
        conn.execute(text("INSERT INTO topics VALUES ('old', 0, '배송', '배송', 3)"))
    ensure_schema(engine)
    ensure_schema(engine)
    with engine.connect() as conn:
        columns = set(conn.execute(text("SELECT * FROM topics WHERE 1 = 0")).keys())
        assert {"status", "lineage", "match_score", "previous_version", "generated_label"} <= columns
        assert conn.execute(text("SELECT label, status FROM topics")).all() == [("배송", None)]
    engine.dispose()


# --- real models (the encoder loads) ----------------------------------------------------------------

SAMPLE_REVIEWS = DEFAULT_CONFIG.parent.parent / "data" / "samples" / "reviews.csv"


@pytest.fixture(scope="module")
def encoder():
    from models.embedder import Embedder
    from pipeline.text.korean import KoreanAnalyzer

    return Embedder(ModelsConfig().encoder), KoreanAnalyzer()


@pytest.fixture(scope="module")
def corpus(encoder):
    """Sentences of the bundled sample's 1–2★ reviews in date order, with their embeddings."""
    embedder, analyzer = encoder
    with open(SAMPLE_REVIEWS, encoding="utf-8", newline="") as fh:
        rows = sorted((r for r in csv.DictReader(fh) if r["stars"] in ("1", "2")),
                      key=lambda r: (r["written_at"], r["review_no"]))
    sentences = [s.text for parts in analyzer.sentences([r["review_text"] for r in rows]) for s in parts
                 if len(s.keywords) >= 2][:360]
    return sentences, embedder.embed(sentences)


def fit(corpus, encoder, start=0, stop=300, seed=42, previous=None, labels=None):
    from pipeline.topics.model import TopicModel

    texts, embeddings = corpus
    config = TopicsConfig(seed=seed, min_topic_size=6, labels=None)
    return TopicModel.fit(texts[start:stop], embeddings[start:stop], config, *encoder, previous=previous,
                          labels=labels)


def reload(model, encoder, directory: Path, labels=None):
    from pipeline.topics.model import TopicModel

    model.save(directory)
    return TopicModel.load(directory, encoder[0], labels)


@pytest.fixture(scope="module")
def first(corpus, encoder, tmp_path_factory):
    return reload(fit(corpus, encoder), encoder, tmp_path_factory.mktemp("first") / "model")


def kept_share(before: list[int], after: list[int]) -> float:
    from models.evaluation.evaluate_topics import kept_ids

    continuing, kept = kept_ids(before, after)
    return kept / continuing


@pytest.mark.slow
def test_the_same_input_gives_the_same_topics_and_labels(corpus, encoder):
    a, b = fit(corpus, encoder), fit(corpus, encoder)
    assert a.fitted == b.fitted
    assert [(r["topic_id"], r["label"], r["keywords"], r["size"]) for r in a.table()] == \
        [(r["topic_id"], r["label"], r["keywords"], r["size"]) for r in b.table()]
    assert len(a.meta.ids) > 3, "the sample should give several topics"
    assert all(r["label"] != OUTLIER_LABEL for r in a.table() if r["topic_id"] != OUTLIER), \
        "Korean keywords must reach the labels (BERTopic's English preprocessing strips Hangul)"


@pytest.mark.slow
def test_batched_mmr_keeps_the_words_bertopics_mmr_keeps(corpus, encoder):
    """The one-call MMR re-ranks every topic's c-TF-IDF candidates exactly as BERTopic's does topic by
    topic (its embedding calls are only batched)."""
    from bertopic.representation import MaximalMarginalRelevance

    from pipeline.topics.embeddings import BatchedMMR

    model = fit(corpus, encoder).model
    vocabulary = model.vectorizer_model.get_feature_names_out()
    candidates = {t: [(w, 1.0 / (i + 1)) for i, w in enumerate(vocabulary[20 * t + 23 : 20 * t + 53])]
                  for t in range(-1, 4)}
    candidates[4] = []
    batched = BatchedMMR(diversity=0.3, top_n_words=10).extract_topics(model, None, None, candidates)
    one_by_one = MaximalMarginalRelevance(diversity=0.3, top_n_words=10).extract_topics(
        model, None, None, {t: words for t, words in candidates.items() if words})
    assert batched == {**one_by_one, 4: []}
    assert all(len(words) == 10 for t, words in batched.items() if t != 4)


@pytest.mark.slow
def test_a_window_too_small_for_a_topic_still_fits(corpus, encoder):
    """Fewer sentences than min_topic_size, so HDBSCAN finds at most one cluster: c-TF-IDF then sees one
    or two joined documents and must keep their words (min_df=2 over topic documents lost them all)."""
    from pipeline.topics.model import TopicModel

    texts, embeddings = corpus
    config = TopicsConfig(seed=42, min_topic_size=len(texts), labels=None)
    model = TopicModel.fit(texts[:40], embeddings[:40], config, *encoder)
    assert len(model.fitted) == 40 and set(model.fitted) <= set(model.meta.ids.values())
    assert len(model.assign(texts[40:45], embeddings[40:45])) == 5
    assert all(model.sori_words(sid) for sid in model.meta.ids.values() if sid != OUTLIER)


@pytest.mark.slow
def test_a_refit_with_another_seed_keeps_the_ids(first, corpus, encoder):
    texts, embeddings = corpus
    refit = fit(corpus, encoder, seed=7, previous=first)
    statuses = [line.status for line in refit.meta.lineage.values()]
    # Most refit topics continue a previous one. Whether one continues whole ("kept") or as a part of a
    # split (one part keeps the id) moves with the seed and with the machine's floating point: 60 %
    # "kept" held on earlier machines, while on the one of 2026-12-07 the same code gave 3 kept and 5
    # split of 11 (seeds 8, 13, 21, 99 there: 6/10, 2/12, 7/7, 6/12 kept, every sentence's id kept).
    # The share of sentences keeping their id moves too: on the machine of the fifteenth session, seeds
    # 7, 8, 13, 21, 99, 3, 5 kept 0.889, 1, 1, 1, 1, 0.875, 1 of them (every topic continuing for 5 seeds).
    assert len(statuses) - statuses.count("new") >= 0.6 * len(statuses)
    assert kept_share(first.assign(texts[:300], embeddings[:300]), refit.fitted) >= 0.85


@pytest.mark.slow
def test_a_process_that_loads_a_model_reads_umaps_kernels_from_numbas_cache(first, tmp_path):
    """The nightly run loads the saved model and its report draws the topic map with UMAP: without
    numba's cache each such process compiled UMAP's kernels again, seconds of a one-day run."""
    import subprocess
    import sys

    first.save(tmp_path / "model")
    code = ("import sys; from pathlib import Path; import umap.umap_; "
            "from numba.core.caching import NullCache; from models.embedder import Embedder; "
            "from pipeline.topics.model import TopicModel; "
            "TopicModel.load(Path(sys.argv[1]), Embedder('builtin:multilingual-e5-small', backend='onnx'), "
            "check_encoder=False); "
            "kernels = (umap.umap_.fast_knn_indices, umap.umap_.smooth_knn_dist); "
            "print([type(k._cache) is NullCache for k in kernels])")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "model")], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[False, False]"


@pytest.mark.slow
def test_a_refit_on_a_shifted_window_keeps_the_ids(first, corpus, encoder, tmp_path):
    texts, embeddings = corpus
    refit = reload(fit(corpus, encoder, 60, 360, previous=first), encoder, tmp_path / "model")
    assert refit.meta.previous_version == first.version
    before = first.assign(texts[60:300], embeddings[60:300])
    after = refit.assign(texts[60:300], embeddings[60:300])
    assert kept_share(before, after) >= 0.9
    # Only one part of a split topic can keep its id, so this share is bounded by how the refit splits
    # (umap-learn 0.5.12 splits the sample's broad 품질·가격 topic in four; 0.5.11 kept it whole).
    assert np.mean(np.array(before) == np.array(after)) >= 0.5


@pytest.mark.slow
def test_the_saved_model_assigns_sori_ids_and_labels_survive_a_refit(first, corpus, encoder, tmp_path):
    from pipeline.topics.model import TopicModel, agreement

    texts, embeddings = corpus
    # Give the previous model ids BERTopic would never use, so a refit must map its topics onto them.
    ids = {t: t if t == OUTLIER else t + 100 for t in first.meta.ids}
    previous = TopicModel(first.model, replace(first.meta, ids=ids, next_id=200))
    (tmp_path / "labels.yaml").write_text("100: 분석가가 붙인 이름\n", encoding="utf-8")
    labels = TopicLabels(tmp_path / "labels.yaml")
    refit = fit(corpus, encoder, 60, 360, previous=previous, labels=labels)
    loaded = reload(refit, encoder, tmp_path / "model", labels)
    assigned = loaded.assign(texts[60:360], embeddings[60:360])
    ids = set(loaded.meta.ids.values())
    assert set(assigned) <= ids and ids - {OUTLIER} and min(ids - {OUTLIER}) >= 100
    assert agreement(refit.fitted, assigned) >= 0.85
    rows = {row["topic_id"]: row for row in loaded.table()}
    assert rows[OUTLIER]["label"] == OUTLIER_LABEL and rows[OUTLIER]["status"] == "outliers"
    if 100 in loaded.meta.ids.values():
        assert loaded.label(100) == "분석가가 붙인 이름" == rows[100]["label"]
        assert rows[100]["generated_label"] != rows[100]["label"]
    else:
        assert rows[100]["status"] == "retired" and rows[100]["label"] == "분석가가 붙인 이름"
    assert set(rows) >= ids


@pytest.mark.slow
def test_refit_window_writes_lineage_and_keeps_outlier_rows(corpus, tmp_path):
    from pipeline.app import Sori
    from pipeline.config import SoriConfig
    from pipeline.warehouse.schema import connect, ensure_schema, pain_points, runs, topics
    from pipeline.warehouse.writes import insert_rows, pain_point_rows
    from pipeline.window import Window

    texts, _ = corpus
    start = date(2026, 9, 1)
    docs = [pain_doc(f"r{i}", start + timedelta(days=i % 30), t.replace(". ", " "))
            for i, t in enumerate(texts[:300])]
    engine = connect(f"duckdb:///{tmp_path / 'sori.duckdb'}")
    ensure_schema(engine)
    with engine.begin() as conn:
        insert_rows(conn, pain_points, pain_point_rows(docs, "run", "test"))
    config = TopicsConfig(model_dir=tmp_path / "topic_model", min_topic_size=6, labels=None)
    window = Window(start, start + timedelta(days=29))
    sori = Sori(SoriConfig(topics=config), pipeline=None)  # type: ignore[arg-type]  # a refit mines nothing
    sori.__dict__["engine"] = engine
    first = sori.refit_topics(window, "refit-1")
    second = sori.refit_topics(window, "refit-2")
    assert (config.model_dir / META_FILE).exists() and second.previous_version == first.version
    assert 0 <= second.outliers_after <= second.outliers_before <= 1 and second.agreement >= 0.85
    assert second.statuses.get("kept", 0) >= 0.6 * second.topics
    with engine.connect() as conn:
        rows = conn.execute(select(topics).where(topics.c.model_version == second.version)).mappings().all()
        points = conn.execute(select(pain_points.c.topic_id, pain_points.c.topic_label)).all()
        recorded = conn.execute(select(runs.c.run_id, runs.c.flow, runs.c.status, runs.c.sentences,
                                       runs.c.model_version).order_by(runs.c.started_at)).all()
    assert [tuple(r) for r in recorded] == [
        ("refit-1", "topic-refit", "ok", 300, f"topics={first.version}"),
        ("refit-2", "topic-refit", "ok", 300, f"topics={second.version}"),
    ], "each refit ends its runs row"
    assert len(points) == 300, "a refit re-assigns rows; it never drops one, outliers included"
    assert {r["status"] for r in rows} <= {"new", "kept", "merged", "split", "retired", "outliers"}
    assert all(label == OUTLIER_LABEL for tid, label in points if tid == OUTLIER)
    assert {tid for tid, _ in points} <= {r["topic_id"] for r in rows}


@pytest.mark.slow
def test_the_evaluation_runs_on_a_small_limit(capsys):
    if not (SHARED_DATA / "app_reviews_playstore" / "reviews.tsv.gz").is_file():
        pytest.skip(f"no app reviews under {SHARED_DATA} (set SORI_SHARED_DATA)")
    from models.evaluation.evaluate_topics import main

    assert main(["--limit", "300"]) == 0
    out = capsys.readouterr().out
    assert "NPMI" in out and "diversity" in out and "ids kept" in out and "save/load agreement" in out


def pain_docs(corpus) -> list:
    """The corpus's sentences as documents with one embedded pain sentence each."""
    from datetime import date

    from tests.factories import pain_doc

    texts, embeddings = corpus
    docs = [pain_doc(f"r{i}", date(2026, 10, 1), text.replace(". ", " "))
            for i, text in enumerate(texts[:300])]
    for doc, vector in zip(docs, embeddings, strict=False):
        doc.sentences[0].embedding = vector
    return docs


@pytest.fixture(scope="module")
def resources():
    from pipeline.resources import Resources

    return Resources.for_models(ModelsConfig())


@pytest.mark.slow
def test_the_saved_model_is_read_when_the_topic_step_first_needs_it(corpus, encoder, resources, first,
                                                                     tmp_path):
    """Building the assigner reads only the model's metadata: a model saved after (a refit landing before
    the run's topic step) is the one it assigns with and the version its rows record."""
    from pipeline.components.topics import TopicAssigner
    from pipeline.config import SoriConfig

    config = SoriConfig(topics=TopicsConfig(min_topic_size=6, labels=None, model_dir=tmp_path / "model"))
    older = fit(corpus, encoder, stop=120, seed=7)
    older.save(config.topics.model_dir)
    assigner = TopicAssigner.from_config(config, resources)
    first.save(config.topics.model_dir)
    docs = pain_docs(corpus)[:60]
    assigner(docs)
    texts, embeddings = corpus
    assert assigner.version == first.version != older.version
    assert [doc.sentences[0].topic_id for doc in docs] == first.assign(texts[:60], embeddings[:60])


def test_a_first_run_saves_its_model_and_a_second_loads_it_instead_of_a_rival(corpus, resources, first,
                                                                               tmp_path):
    """Two first runs: the one that finds a model saved while it mined (behind the writer lock) assigns
    with that model, so no day keeps ids of a model another run overwrote."""
    from pipeline.components.topics import TopicAssigner
    from pipeline.topics.model import META_FILE, TopicLabels

    config = TopicsConfig(seed=42, min_topic_size=6, min_documents=20, labels=None,
                          model_dir=tmp_path / "model")
    docs = pain_docs(corpus)
    alone = TopicAssigner(config, TopicLabels(None), resources)
    alone.fit_if_missing(docs, save=True)
    assert (config.model_dir / META_FILE).exists() and alone.model is not None

    late = TopicAssigner(config.model_copy(update={"model_dir": tmp_path / "shared"}), TopicLabels(None),
                         resources)
    first.save(tmp_path / "shared")  # another run saved its model after `late` was built
    late.fit_if_missing(docs, save=True)
    assert late.model is not None and late.model.version == first.version

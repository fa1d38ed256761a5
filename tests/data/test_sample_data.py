"""The committed synthetic samples in data/samples (fast, no models).

Shape, period and determinism are checked on the files themselves; the planted delivery-delay spike
and app-crash trend are checked against the generator's ground truth, which never enters the files.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from models.evaluation.evaluate_sample import sample_generator

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "samples"
FILES = ("reviews.csv", "surveys.jsonl", "chats.csv")
PERIOD = (date(2026, 8, 1), date(2026, 10, 31))
SPIKE = (date(2026, 10, 20), date(2026, 10, 24))
KST_ISO = re.compile(r"^2026-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00$")


@pytest.fixture(scope="module")
def gen():
    return sample_generator()


@pytest.fixture(scope="module")
def samples(gen):
    return gen.generate()


@pytest.fixture(scope="module")
def reviews() -> pd.DataFrame:
    return pd.read_csv(SAMPLES / "reviews.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def surveys() -> pd.DataFrame:
    rows = [json.loads(line) for line in (SAMPLES / "surveys.jsonl").read_text(encoding="utf-8").splitlines()]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def chats() -> pd.DataFrame:
    return pd.read_csv(SAMPLES / "chats.csv", dtype=str, keep_default_na=False)


def per_day(samples, wanted) -> Counter:
    """Items per local date whose ground truth satisfies ``wanted``."""
    return Counter(ts.date() for _, _, ts, truth in samples.items() if wanted(truth))


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def test_columns_are_the_raw_export_names_without_ground_truth(reviews, surveys, chats):
    assert list(reviews.columns) == ["review_no", "written_at", "stars", "product_name", "review_text"]
    assert list(surveys.columns) == ["resp_id", "answered_at", "nps", "q_reason", "q_improve"]
    assert list(chats.columns) == ["chat_id", "sent_at", "sender", "message"]


def test_counts(reviews, surveys, chats):
    conversations = chats["chat_id"].nunique()
    assert 1450 <= len(reviews) <= 1750
    assert 700 <= len(surveys) <= 900
    assert 600 <= conversations <= 800
    assert len(reviews) + len(surveys) + conversations >= 3000
    turns = chats.groupby("chat_id").size()
    assert turns.min() >= 3 and turns.max() <= 12
    assert reviews["review_no"].is_unique and surveys["resp_id"].is_unique


def test_timestamps_are_seoul_time_and_span_the_period(reviews, surveys, chats):
    stamps = pd.concat([reviews["written_at"], surveys["answered_at"], chats["sent_at"]])
    assert stamps.str.match(KST_ISO).all()
    parsed = pd.to_datetime(stamps, format="ISO8601")
    first, last = parsed.min().date(), parsed.max().date()
    assert (first, last) == PERIOD
    assert (last - first).days >= 90


def test_ratings_and_texts(reviews, surveys):
    assert set(reviews["stars"].astype(int)) == {1, 2, 3, 4, 5}
    assert surveys["nps"].between(0, 10).all() and surveys["nps"].nunique() == 11
    assert (reviews["review_text"].str.strip() != "").all() and reviews["review_text"].is_unique
    assert (surveys["q_reason"].str.strip() != "").all() and surveys["q_reason"].is_unique
    assert surveys["q_improve"].isna().any() and (surveys["q_improve"] == "").any()
    assert reviews["review_text"].str.contains("\n").any(), "some reviews span lines (quoted CSV)"


def test_chats_have_bots_agents_and_customers_in_time_order(chats):
    assert set(chats["sender"]) == {"customer", "agent", "bot"}
    by_chat = chats.groupby("chat_id", sort=False)
    in_order = by_chat["sent_at"].apply(lambda s: pd.to_datetime(s, format="ISO8601").is_monotonic_increasing)
    assert in_order.all()
    senders = by_chat["sender"].agg(set)
    assert sum("agent" not in s for s in senders) >= 50, "bot-only conversations (the human never arrives)"
    assert chats["message"].str.contains("이해하지 못했어요").any()
    assert chats["message"].str.contains("상담원 연결").any()


def test_colloquial_korean(reviews, surveys, chats):
    text = pd.concat(
        [reviews["review_text"], surveys["q_reason"], chats.loc[chats.sender == "customer", "message"]]
    )
    for marker in ("ㅋㅋ", "ㅠㅠ", "ㅎㅎ", "!!!", "...", "개빡침", "존맛", "핵불편", "안 와요", "는데"):
        assert text.str.contains(marker, regex=False).any(), marker
    assert text.str.contains(r"[\U0001F300-\U0001FAFF]").mean() > 0.03, "emoji"


def test_personal_data_appears_in_a_realistic_share(reviews, surveys, chats):
    pii = re.compile(
        r"010[- ]?\d{4}[- ]?\d{4}|[\w.]+@[\w.]+\.\w+|\d{6}-[1-4]\d{6}|\d{4}-\d{4}-\d{4}-\d{4}"
        r"|\d+동 \d+호|[가-힣]{2,3}(?: 고객님| 상담원님| 기사님|씨 )"
    )
    texts = pd.concat(
        [reviews["review_text"], surveys["q_reason"], chats.groupby("chat_id")["message"].agg("\n".join)]
    )
    share = texts.str.contains(pii).mean()
    assert 0.02 <= share <= 0.12, share


def test_regenerating_gives_byte_identical_files(gen, tmp_path):
    written = gen.main(tmp_path)
    assert sorted(p.name for p in written.values()) == sorted(FILES)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name


def test_ground_truth_matches_the_files(samples, reviews, surveys, chats):
    assert [r.review_no for r in samples.reviews] == list(reviews["review_no"])
    assert [s.resp_id for s in samples.surveys] == list(surveys["resp_id"])
    assert len(samples.chats) == chats["chat_id"].nunique()


def test_tone_mix_and_category_coverage(samples, gen):
    truths = [truth for *_, truth in samples.items()]
    tones = Counter(t.tone for t in truths)
    assert 0.35 <= tones["praise"] / len(truths) <= 0.45
    assert 0.12 <= tones["neutral"] / len(truths) <= 0.18
    assert tones["mixed"] > 200, "praise and complaint in one text"
    sentences = Counter(p for t in truths for p in t.pains)
    assert set(sentences) == set(gen.CATEGORIES)
    assert min(sentences.values()) >= 60, sentences
    assert {tp for t in truths for tp in t.touchpoints} == set(gen.TOUCHPOINTS)


def test_delivery_delay_spike(samples):
    complaints = per_day(samples, lambda t: t.is_complaint and {"delivery", "waiting"} & set(t.pains))
    spike = [complaints[d] for d in days(*SPIKE)]
    baseline = [complaints[d] for d in days(*PERIOD) if not SPIKE[0] <= d <= SPIKE[1]]
    ratio = (sum(spike) / len(spike)) / (sum(baseline) / len(baseline))
    assert 2.5 <= ratio <= 4.0, ratio
    assert min(spike) > max(complaints[d] for d in days(date(2026, 10, 1), date(2026, 10, 19)))


def test_delivery_spike_is_visible_in_the_text(reviews, surveys):
    """Without labels: more texts talk about 배송/택배 on the spike days."""
    text = pd.concat([reviews["review_text"], surveys["q_reason"]], ignore_index=True)
    stamps = pd.concat([reviews["written_at"], surveys["answered_at"]], ignore_index=True)
    about_delivery = text.str.replace(" ", "").str.contains("배송|택배|출고")
    late = text.str.contains("늦|안 ?와|안 ?옴|지연|밀렸")
    daily = (about_delivery & late).groupby(pd.to_datetime(stamps, format="ISO8601").dt.date).sum()
    in_spike = (daily.index >= SPIKE[0]) & (daily.index <= SPIKE[1])
    assert daily[in_spike].mean() > 2 * daily[~in_spike].mean()


def test_app_crash_trend_grows_after_the_update(samples, gen):
    crashes = per_day(samples, lambda t: "reliability" in t.pains)
    before = sum(crashes[d] for d in days(PERIOD[0], gen.APP_UPDATE - timedelta(days=1)))
    before_rate = before / (gen.APP_UPDATE - PERIOD[0]).days
    early = sum(crashes[d] for d in days(date(2026, 10, 6), date(2026, 10, 13))) / 8
    mid = sum(crashes[d] for d in days(date(2026, 10, 14), date(2026, 10, 22))) / 9
    late = sum(crashes[d] for d in days(date(2026, 10, 23), date(2026, 10, 31))) / 9
    assert before_rate < early < mid < late
    assert late > 3 * before_rate

"""The emerging-issue evaluation's own arithmetic, on series written here (the real one needs
../shared): which days are judged, how an incident is added and found, and calibrating a test to an
alarm rate."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from models.evaluation.evaluate_emerging import (
    JudgedDay,
    alarm_threshold,
    found,
    incident_recall,
    judged_days,
    key_series,
    key_verdicts,
    lasting_figures,
    main,
    rules,
    trend_figures,
    with_calibrated,
)
from pipeline.config import EmergingConfig
from tests.conftest import SHARED_DATA

SETTINGS = EmergingConfig()
START = date(2026, 1, 1)


def _reviews(key: str, low_per_day: dict[int, int], days: int, skip: frozenset[int] = frozenset()):
    """One 5★ review every mined day, plus `low_per_day[offset]` 1★ reviews."""
    reviews = []
    for offset in range(days):
        if offset in skip:
            continue
        day = (START + timedelta(days=offset)).isoformat()
        reviews.append((key, day, 5, "좋아요"))
        reviews += [(key, day, 1, "앱이 안 열려요")] * low_per_day.get(offset, 0)
    return reviews


def _rule(name: str):
    return next(rule for rule in rules(SETTINGS) if rule.name == name)


def test_a_day_is_judged_only_on_enough_mined_baseline_days():
    # 40 days, of which days 5–14 were never mined: a gap shortens the baseline, it does not count as zeros.
    reviews = _reviews("app:a", {offset: 2 for offset in range(40)}, 40, skip=frozenset(range(5, 15)))
    judged = judged_days(key_series(reviews), SETTINGS)

    first = judged[0]
    assert first.day == START + timedelta(days=24)  # 5 + 9 mined days before it: 14
    assert len(first.history) == SETTINGS.min_baseline_days
    assert all(d.count == 2 and set(d.history) == {2} for d in judged)
    assert len(judged) == 40 - 10 - 14


def test_an_incident_is_added_on_the_mined_days_up_to_the_judged_one():
    reviews = _reviews("app:a", {offset: 2 + offset % 3 for offset in range(60)}, 60, skip=frozenset({58}))
    day = judged_days(key_series(reviews), SETTINGS)[-1]
    assert day.day == START + timedelta(days=59)
    assert day.before(3) == [START + timedelta(days=offset) for offset in (56, 57, 59)]

    sori = _rule("sori")
    assert not sori.flags(day.series.counts, day.series.mined, day.day)
    assert found(sori, day, [20])
    assert not found(sori, day, [1, 1, 1])


def test_a_steady_series_raises_no_flag_and_a_large_incident_is_found():
    reviews = _reviews("app:a", {offset: 2 + offset % 3 for offset in range(60)}, 60)
    days = judged_days(key_series(reviews), SETTINGS)
    sori, day_alone = _rule("sori"), _rule("sori, day alone")

    assert not any(sori.flags(d.series.counts, d.series.mined, d.day) for d in days)
    recall = incident_recall(days, [sori, day_alone], sample=len(days))
    assert recall["sori"]["+20"] == 1.0
    assert recall["sori"]["+5"] < recall["sori"]["+20"]
    # Every day here is busy (mean 3): three days at three times the usual are found by the window
    # test; one such day (9 against 2–4) is not improbable enough for either.
    assert recall["sori"]["×3 busy ×3 days"] > 0.9 > recall["sori, day alone"]["×3 busy ×3 days"]
    assert recall["sori"]["×3 busy"] == recall["sori, day alone"]["×3 busy"]


def test_busy_incidents_apply_only_to_busy_days():
    quiet = judged_days(key_series(_reviews("app:q", {o: o % 2 for o in range(40)}, 40)), SETTINGS)
    busy = judged_days(key_series(_reviews("app:b", {o: 10 for o in range(40)}, 40)), SETTINGS)
    recall = incident_recall([quiet[-1], busy[-1]], [_rule("sori")], sample=2)["sori"]
    # Only the busy day is sampled for "×3 busy": 10 + 20 against a steady 10 a day is found.
    assert recall["×3 busy"] == 1.0


def test_a_textbook_test_is_calibrated_to_the_alarm_rate_of_soris_rule():
    low = {o: 2 + o % 2 for o in range(34)}
    low.update({28: 3, 29: 5, 30: 8, 31: 12, 32: 20, 33: 40})  # one key's last six days, each judged apart
    series = key_series(_reviews("app:a", low, 34))
    days = [d for d in judged_days(series, SETTINGS) if d.day >= START + timedelta(days=28)]
    calibrated = with_calibrated(rules(SETTINGS), days)
    flags = {rule.name: sum(rule.flags(d.series.counts, d.series.mined, d.day) for d in days)
             for rule in calibrated}

    assert [rule.name for rule in calibrated] == [
        "sori", "sori, day alone", "Poisson test", "Poisson test at sori's rate", "k-sigma",
        "k-sigma at sori's rate"]
    assert flags["sori, day alone"] <= flags["sori"]
    assert flags["Poisson test at sori's rate"] == flags["k-sigma at sori's rate"] == flags["sori"]
    assert flags["k-sigma"] > flags["sori"]  # a steady 2–3 has so small a deviation that 5 and 8 pass 3 sigma


def test_judged_days_know_their_mean():
    day = JudgedDay(key_series(_reviews("app:a", {}, 1))[0], START, (1, 2, 3))
    assert day.mean == 2.0


def test_a_steady_series_is_never_rising_and_a_steep_ramp_is_found_by_its_last_day():
    reviews = _reviews("app:a", {offset: 2 + offset % 3 for offset in range(90)}, 90)
    days = judged_days(key_series(reviews), SETTINGS)
    figures = trend_figures(days, key_verdicts(days, SETTINGS), SETTINGS, sample=len(days))
    sori = figures["sori, rising"]

    assert sori["per_1000"] == 0.0
    # +6 a day by the end of three weeks, against 2–4 a day: found wherever min_baseline_days precede
    # the trend window, on days 27–89, 63 of the 76 judged ones
    first_judgeable = SETTINGS.min_baseline_days + SETTINGS.trend_days - 1
    assert sori["ramp to +6/day"] == (90 - first_judgeable) / len(days)
    assert sori["ramp to +3/day"] < sori["ramp to +6/day"]
    # No day of a ramp stands out from the days before it: the spike test finds none.
    assert max(figures["sori's spike test, any ramp day"].values()) == 0.0


def test_continuation_flags_more_days_of_a_lasting_incident_and_none_of_a_steady_series():
    reviews = _reviews("app:a", {offset: 2 + offset % 3 for offset in range(90)}, 90)
    days = judged_days(key_series(reviews), SETTINGS)
    figures = lasting_figures(days, key_verdicts(days, SETTINGS), SETTINGS, sample=len(days))
    alone, carried = figures["day and window tests"], figures["with continuation"]

    assert carried["per_1000"] == 0.0
    # A busy key at three times its usual for five days: the window test finds the third day, and the
    # days after carry the incident on.
    assert carried["×3 busy ×5 days"] > alone["×3 busy ×5 days"] > 0.5
    assert all(carried[label] >= alone[label] for label in alone)


def test_the_alarm_threshold_lets_through_at_most_the_given_number_of_scores():
    scores = [5.0, 3.0, 3.0, 1.0, float("-inf")]
    assert sum(s >= alarm_threshold(scores, 1) for s in scores) == 1
    assert sum(s >= alarm_threshold(scores, 2) for s in scores) == 1  # a tie: both or neither
    assert sum(s >= alarm_threshold(scores, 3) for s in scores) == 3
    assert alarm_threshold(scores, 5) == float("-inf")


def test_missing_corpora_fail_with_a_clear_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SORI_SHARED_DATA", str(tmp_path / "nowhere"))
    assert main(["--keys", "1"]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_the_evaluation_runs_on_a_few_real_keys(tmp_path, capsys):
    if not (SHARED_DATA / "app_reviews_playstore" / "reviews.tsv.gz").is_file():
        pytest.skip(f"no review corpora under {SHARED_DATA} (set SORI_SHARED_DATA)")
    out = tmp_path / "figures.json"
    assert main(["--keys", "2", "--sample", "40", "--top", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "rising pain" in printed and "Poisson trend test" in printed
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["keys"] == 2 and figures["sample"] == 40
    assert 0 <= figures["trends"]["sori, rising"]["ramp to +6/day"] <= 1
    assert set(figures["recall"]["sori"]) >= {"+5", "+20", "+4 ×3 days"}

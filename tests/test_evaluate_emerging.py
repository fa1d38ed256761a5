"""The emerging-issue evaluation's own arithmetic, on series written here (the real one needs
../shared): which days are judged, what a spike adds, and calibrating a test to an alarm rate."""

from __future__ import annotations

from datetime import date, timedelta

from models.evaluate_emerging import JudgedDay, judged_days, rules, spike_recall, with_calibrated
from pipeline.config import EmergingConfig

SETTINGS = EmergingConfig()
START = date(2026, 1, 1)


def _reviews(key: str, low_per_day: dict[int, int], days: int, skip: set[int] = frozenset()):
    """One 5★ review every mined day, plus `low_per_day[offset]` 1★ reviews."""
    reviews = []
    for offset in range(days):
        if offset in skip:
            continue
        day = (START + timedelta(days=offset)).isoformat()
        reviews.append((key, day, 5, "좋아요"))
        reviews += [(key, day, 1, "앱이 안 열려요")] * low_per_day.get(offset, 0)
    return reviews


def test_a_day_is_judged_only_on_enough_mined_baseline_days():
    # 40 days, of which days 5–14 were never mined: a gap shortens the baseline, it does not count as zeros.
    reviews = _reviews("app:a", {offset: 2 for offset in range(40)}, 40, skip=set(range(5, 15)))
    judged = judged_days(reviews, SETTINGS)

    first = judged[0]
    assert first.day == (START + timedelta(days=24)).isoformat()  # 5 + 9 mined days before it: 14
    assert len(first.history) == SETTINGS.min_baseline_days
    assert all(d.count == 2 and set(d.history) == {2} for d in judged)
    assert len(judged) == 40 - 10 - 14


def test_a_steady_series_raises_no_flag_and_a_large_spike_is_found():
    reviews = _reviews("app:a", {offset: 2 + offset % 3 for offset in range(60)}, 60)
    days = judged_days(reviews, SETTINGS)
    sori = rules(SETTINGS)[0]

    assert not any(sori.flags(d.count, d.history) for d in days)
    recall = spike_recall(days, [sori], sample=len(days))["sori"]
    assert recall["+20"] == 1.0
    assert recall["+5"] < recall["+20"]


def test_busy_spikes_apply_only_to_busy_days():
    quiet = [JudgedDay("app:q", "2026-01-29", 0, [0, 1] * 14)]
    recall = spike_recall(quiet + [JudgedDay("app:b", "2026-01-29", 10, [10] * 28)], rules(SETTINGS)[:1],
                          sample=2)["sori"]
    # Only the busy day is sampled for "×3 busy": 10 + 20 against a steady 10 a day is found.
    assert recall["×3 busy"] == 1.0


def test_a_textbook_test_is_calibrated_to_the_alarm_rate_of_soris_rule():
    counts = [3, 5, 8, 12, 20, 40]
    days = [JudgedDay("app:a", f"2026-02-{i + 1:02d}", count, [2, 3] * 14) for i, count in enumerate(counts)]
    calibrated = with_calibrated(rules(SETTINGS), days)
    flags = {rule.name: sum(rule.flags(d.count, d.history) for d in days) for rule in calibrated}

    assert [rule.name for rule in calibrated] == [
        "sori", "Poisson test", "Poisson test at sori's rate", "k-sigma", "k-sigma at sori's rate"]
    # Poisson with mean 2.5: 12, 20 and 40 are improbable at p ≤ 0.001, 8 is not (p ≈ 0.004).
    assert flags["sori"] == 3
    assert flags["Poisson test at sori's rate"] == flags["k-sigma at sori's rate"] == 3
    assert flags["k-sigma"] == 5  # a steady 2–3 has so small a deviation that 5 and 8 pass 3 sigma

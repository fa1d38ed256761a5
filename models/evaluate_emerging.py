"""How often the emerging-issue detector cries wolf on real complaint counts, and how large a spike it
finds, against the textbook tests in the same run.

Series: per app (Play-store reviews) and per hotel (Yanolja reviews), the daily count of 1–2★ reviews,
standing in for one key's daily pain points: the detector reads only counts, and mining 120k reviews
with the pipeline takes hours. Like the detector, a day's baseline is the mined days among the
`baseline_days` before it (here: days with any review of that app or hotel), and a day is judged only
with `min_baseline_days` of them.

Rules compared, all with the shipped `min_count`:
- sori: `pipeline.emerging.judge_day` with the config's `emerging:` settings (Poisson, or a negative
  binomial when the baseline is overdispersed; p ≤ max_p_value; at least min_ratio × expected);
- Poisson test: p under a Poisson with the baseline mean;
- k-sigma: a control chart, (count − mean) / standard deviation of the baseline.
The two textbook tests run twice: at their usual thresholds (p ≤ max_p_value, 3 sigma), and at the
threshold that flags as many real days as sori does, so their recall compares at an equal alarm rate.

Figures: flags per 1,000 judged key-days on the series as they are (real incidents, such as an update
that breaks an app, are among them, so this bounds false alarms from above), and the share of a seeded
sample of days flagged once k complaints are added to them, or, on days whose baseline mean is at
least BUSY, once (r − 1) × the mean are (an incident worth r ordinary days). The flagged real days with
the highest scores are listed with the nouns that rose most, to read what kind of day a flag is
(printed only; corpus words stay out of the repository).

    python -m models.evaluate_emerging [--sample 3000] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import poisson

from models.shared_data import SharedDataMissing, require
from pipeline.config import EmergingConfig, load_config
from pipeline.emerging import judge_day

LOW_STARS = 2
BUSY = 2.0
# (label, days it applies to, the day's count once the spike is added)
Spike = tuple[str, Callable[["JudgedDay"], bool], Callable[["JudgedDay"], int]]
SPIKES: tuple[Spike, ...] = (
    *((f"+{k}", lambda day: True, lambda day, k=k: day.count + k) for k in (5, 10, 20)),
    *((f"×{r} busy", lambda day: day.mean >= BUSY, lambda day, r=r: day.count + math.ceil((r - 1) * day.mean))
      for r in (2, 3)),
)
CORPORA = {"app_reviews_playstore": "app", "hotel_reviews_yanolja": "hotel"}


@dataclass(frozen=True)
class JudgedDay:
    key: str
    day: str
    count: int
    history: list[int]

    @property
    def mean(self) -> float:
        return float(np.mean(self.history))


@dataclass(frozen=True)
class Rule:
    """Flags a day when score(count, history) reaches threshold (what the threshold means is in `unit`)."""

    name: str
    score: Callable[[int, list[int]], float]
    threshold: float
    unit: str = ""

    def flags(self, count: int, history: list[int]) -> bool:
        return self.score(count, history) >= self.threshold

    def at_alarm_rate(self, days: Sequence[JudgedDay], flags: int) -> Rule:
        """The same test with the lowest threshold that flags at most `flags` of these days."""
        scores = sorted((self.score(d.count, d.history) for d in days), reverse=True)
        threshold = np.nextafter(scores[flags], np.inf) if flags < len(scores) else -np.inf
        return Rule(f"{self.name} at sori's rate", self.score, float(threshold), self.unit)


def rules(settings: EmergingConfig) -> list[Rule]:
    def sori(count: int, history: list[int]) -> float:
        return float(judge_day(count, history, settings)["flag"])

    def poisson_score(count: int, history: list[int]) -> float:
        if count < settings.min_count:
            return -np.inf
        expected = max(float(np.mean(history)), 0.5 / len(history))
        return float(-np.log10(max(poisson.sf(count - 1, expected), 1e-300)))

    def sigma_score(count: int, history: list[int]) -> float:
        if count < settings.min_count:
            return -np.inf
        return float((count - np.mean(history)) / max(np.std(history, ddof=1), 1e-9))

    return [Rule("sori", sori, 1.0),
            Rule("Poisson test", poisson_score, -math.log10(settings.max_p_value), "−log10 p"),
            Rule("k-sigma", sigma_score, 3.0, "sigma")]


def load_reviews(root: Path) -> list[tuple[str, str, int, str]]:
    """(key, date, stars, text) of every dated review of both corpora."""
    from models.evaluate_tagging import read_table

    reviews = []
    for dataset, key_column in CORPORA.items():
        table = read_table(root, dataset)
        for key, day, rating, text in zip(table[key_column], table["date"], table["rating"], table["text"],
                                          strict=True):
            if day and rating:
                reviews.append((f"{dataset.split('_')[0]}:{key}", day, int(float(rating)), text))
    return reviews


def judged_days(reviews: Sequence[tuple[str, str, int, str]], settings: EmergingConfig) -> list[JudgedDay]:
    """Every mined day of every key that has enough mined baseline days to be judged."""
    import pandas as pd

    frame = pd.DataFrame(reviews, columns=["key", "day", "stars", "text"])
    frame["day"] = pd.to_datetime(frame["day"])
    judged = []
    for key, rows in frame.groupby("key"):
        mined = set(rows["day"])
        low = rows[rows["stars"] <= LOW_STARS].groupby("day").size().to_dict()
        for day in sorted(mined):
            baseline = [day - pd.Timedelta(days=i) for i in range(settings.baseline_days, 0, -1)]
            history = [low.get(d, 0) for d in baseline if d in mined]
            if len(history) >= settings.min_baseline_days:
                judged.append(JudgedDay(str(key), day.date().isoformat(), low.get(day, 0), history))
    return judged


def with_calibrated(rule_set: list[Rule], days: Sequence[JudgedDay]) -> list[Rule]:
    """The rules, and each textbook test again at the alarm rate of the first (sori's) rule."""
    sori, *textbook = rule_set
    target = sum(sori.flags(d.count, d.history) for d in days)
    return [sori, *(r for rule in textbook for r in (rule, rule.at_alarm_rate(days, target)))]


def spike_recall(days: Sequence[JudgedDay], rule_set: Sequence[Rule], sample: int,
                 seed: int = 7) -> dict[str, dict[str, float]]:
    """Per rule and spike, the share of sampled days (those the spike applies to) flagged once it is added."""
    chosen = random.Random(seed).sample(list(days), min(sample, len(days)))
    recall: dict[str, dict[str, float]] = {}
    for rule in rule_set:
        recall[rule.name] = {}
        for label, applies, spiked in SPIKES:
            hit = [rule.flags(spiked(d), d.history) for d in chosen if applies(d)]
            recall[rule.name][label] = float(np.mean(hit))
    return recall


def rising_nouns(reviews: Sequence[tuple[str, str, int, str]], day: JudgedDay, top: int = 4) -> list[str]:
    """The nouns of the day's low-star reviews most over-represented against the key's other ones."""
    from pipeline.korean import shared_kiwi

    kiwi = shared_kiwi()

    def nouns(texts: list[str]) -> Counter:
        counts: Counter = Counter()
        for tokens in kiwi.tokenize(texts):
            counts.update({t.form for t in tokens if t.tag in ("NNG", "NNP") and len(t.form) > 1})
        return counts

    low = [r for r in reviews if r[0] == day.key and r[2] <= LOW_STARS]
    today = nouns([r[3] for r in low if r[1] == day.day])
    rest = nouns([r[3] for r in low if r[1] != day.day])
    total_today, total_rest = sum(today.values()) or 1, sum(rest.values()) or 1
    lift = {word: (n / total_today) / ((rest[word] + 1) / total_rest) for word, n in today.items() if n >= 2}
    return sorted(lift, key=lift.get, reverse=True)[:top]


def report(days: Sequence[JudgedDay], rule_set: Sequence[Rule], recall: dict[str, dict[str, float]],
           sample: int) -> tuple[str, dict[str, float]]:
    keys = len({d.key for d in days})
    rates = {rule.name: 1000 * sum(rule.flags(d.count, d.history) for d in days) / len(days)
             for rule in rule_set}
    lines = [f"{len(days):,} judged key-days over {keys} apps and hotels (daily 1–2★ reviews; spikes on "
             f"{min(sample, len(days)):,} sampled days, busy: baseline mean ≥ {BUSY:g})", ""]
    header = ["rule", "threshold", "flags / 1,000 key-days", *(f"found {label}" for label, _, _ in SPIKES)]
    body = [[rule.name, f"{rule.threshold:.2f} {rule.unit}".strip() if rule.unit else "config",
             f"{rates[rule.name]:.1f}", *(f"{recall[rule.name][label]:.3f}" for label, _, _ in SPIKES)]
            for rule in rule_set]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *body]:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines), rates


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.evaluate_emerging",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=None, help="sori config (default: configs/sori.yaml)")
    parser.add_argument("--sample", type=int, default=3000, help="days to add spikes to")
    parser.add_argument("--top", type=int, default=8, help="flagged real days to list")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    settings = load_config(args.config).emerging
    try:
        root = require([f"{dataset}/reviews.tsv.gz" for dataset in CORPORA], "review corpora")
    except SharedDataMissing as exc:
        print(f"evaluate_emerging: {exc}", file=sys.stderr)
        return 2
    reviews = load_reviews(root)
    days = judged_days(reviews, settings)
    rule_set = with_calibrated(rules(settings), days)
    recall = spike_recall(days, rule_set, args.sample)
    table, rates = report(days, rule_set, recall, args.sample)
    print(table)
    print("\nsori's highest-scoring flagged days (count vs expected; nouns that rose most):")
    judged = [(d, judge_day(d.count, d.history, settings)) for d in days]
    flagged = sorted((pair for pair in judged if pair[1]["flag"]), key=lambda pair: pair[1]["score"],
                     reverse=True)
    for day, verdict in flagged[: args.top]:
        print(f"  {day.key:32} {day.day}  {day.count:3d} vs {verdict['expected']:5.1f}  "
              f"{', '.join(rising_nouns(reviews, day))}")
    if args.json:
        args.json.write_text(json.dumps({
            "key_days": len(days), "keys": len({d.key for d in days}), "sample": min(args.sample, len(days)),
            "thresholds": {rule.name: rule.threshold for rule in rule_set},
            "flags_per_1000": rates, "recall": recall,
        }, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How often the emerging-issue detector cries wolf on real complaint counts, and which incidents it
finds, against the textbook tests in the same run.

Series: per app (Play-store reviews) and per hotel (Yanolja reviews), the daily count of 1–2★ reviews,
standing in for one key's daily pain points: the detector reads only counts, and mining 120k reviews
with the pipeline takes hours. The mined days are the days with any review of that app or hotel, and
every rule reads the detector's own baselines (`pipeline.insights.emerging.judge_series`).

Rules compared, all with the shipped `min_count`:
- sori: the config's `emerging:` settings, the day's test and the last `window_days` days' test;
- sori, day alone: the same with `window_days: 1`, the rule before the window test;
- Poisson test: p under a Poisson with the baseline mean;
- k-sigma: a control chart, (count − mean) / standard deviation of the baseline.
The two textbook tests run twice: at their usual thresholds (p ≤ max_p_value, 3 sigma), and at the
threshold that flags as many real days as sori does, so their recall compares at an equal alarm rate.

Figures: flags per 1,000 judged key-days on the series as they are (real incidents, such as an update
that breaks an app, are among them, so this bounds false alarms from above), and the share of incidents
added to a seeded sample of days that are flagged on any of their days: one day with k more complaints;
three days with 4 more each; and on days whose baseline mean is at least BUSY, (r − 1) × the mean more
for one day or for three (an incident worth r ordinary days). The flagged real days with the highest
scores are listed with the nouns that rose most, to read what kind of day a flag is (printed only;
corpus words stay out of the repository).

Incidents that last (3 or 5 days): the share of their days flagged by the day and window tests, and
with the days that carry an incident on (`pipeline.insights.emerging.judge_key`); and how many real days are
flagged as continuing one.

Trends: the `rising` test (`pipeline.insights.emerging.judge_trend`) against the textbook one, a Poisson test
of the trend window's total at max_trend_p_value and at sori's rate of rising days. Figures: rising
key-days per 1,000 real ones, and the share of linear ramps (RAMP_DAYS long, up to +k a day, or to r
times a busy key's mean) found rising on their last day; and how often the spike test flags any day of
those ramps.

    python -m models.evaluation.evaluate_emerging [--sample 2000] [--keys N] [--json PATH]
"""

from __future__ import annotations

import argparse
import bisect
import functools
import json
import math
import random
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from scipy.stats import poisson

from models.training.shared_data import SharedDataMissing, require
from pipeline.config import EmergingConfig, load_config
from pipeline.insights.emerging import baseline_days, judge_key, judge_series, judge_trend, recent_days

LOW_STARS = 2
BUSY = 2.0
CORPORA = {"app_reviews_playstore": "app", "hotel_reviews_yanolja": "hotel"}


@dataclass(frozen=True)
class KeySeries:
    key: str
    counts: dict[date, int]  # 1–2★ reviews per mined day
    mined: frozenset[date] = field(repr=False)

    @functools.cached_property
    def ordered(self) -> list[date]:
        return sorted(self.mined)


@dataclass(frozen=True)
class JudgedDay:
    series: KeySeries
    day: date
    history: tuple[int, ...]  # the day's baseline

    @property
    def count(self) -> int:
        return self.series.counts.get(self.day, 0)

    @property
    def mean(self) -> float:
        return float(np.mean(self.history))

    def before(self, days: int) -> list[date]:
        """This day and the mined days before it, `days` in all, oldest first."""
        end = bisect.bisect_right(self.series.ordered, self.day)
        return self.series.ordered[max(end - days, 0):end]


# A rule scores a day of a key's counts (the series' own, or with an incident added); it flags the day
# when the score reaches its threshold.
Score = Callable[[Mapping[date, int], frozenset[date], date], float]


@dataclass(frozen=True)
class Rule:
    name: str
    score: Score
    threshold: float
    unit: str = ""

    def flags(self, counts: Mapping[date, int], mined: frozenset[date], day: date) -> bool:
        return self.score(counts, mined, day) >= self.threshold

    def at_alarm_rate(self, days: Sequence[JudgedDay], flags: int) -> Rule:
        """The same test with the lowest threshold that flags at most `flags` of these days."""
        threshold = alarm_threshold([self.score(d.series.counts, d.series.mined, d.day) for d in days], flags)
        return Rule(f"{self.name} at sori's rate", self.score, threshold, self.unit)


def alarm_threshold(scores: Sequence[float], flags: int) -> float:
    """The lowest threshold that at most `flags` of these scores reach."""
    ordered = sorted(scores, reverse=True)
    return float(np.nextafter(ordered[flags], np.inf)) if flags < len(ordered) else -np.inf


def rules(settings: EmergingConfig) -> list[Rule]:
    day_alone = settings.model_copy(update={"window_days": 1})

    def detector(config: EmergingConfig) -> Score:
        def flag(counts: Mapping[date, int], mined: frozenset[date], day: date) -> float:
            judged = judge_series(counts, mined, day, config)
            return float(bool(judged and judged["flag"]))
        return flag

    def baseline(counts: Mapping[date, int], mined: frozenset[date], day: date) -> list[int]:
        return [counts.get(d, 0) for d in baseline_days(day, mined, settings)]

    def poisson_score(counts: Mapping[date, int], mined: frozenset[date], day: date) -> float:
        count, history = counts.get(day, 0), baseline(counts, mined, day)
        if count < settings.min_count or not history:
            return -np.inf
        expected = max(float(np.mean(history)), 0.5 / len(history))
        return float(-np.log10(max(poisson.sf(count - 1, expected), 1e-300)))

    def sigma_score(counts: Mapping[date, int], mined: frozenset[date], day: date) -> float:
        count, history = counts.get(day, 0), baseline(counts, mined, day)
        if count < settings.min_count or len(history) < 2:
            return -np.inf
        return float((count - np.mean(history)) / max(np.std(history, ddof=1), 1e-9))

    return [Rule("sori", detector(settings), 1.0),
            Rule("sori, day alone", detector(day_alone), 1.0),
            Rule("Poisson test", poisson_score, -math.log10(settings.max_p_value), "−log10 p"),
            Rule("k-sigma", sigma_score, 3.0, "sigma")]


def with_calibrated(rule_set: list[Rule], days: Sequence[JudgedDay]) -> list[Rule]:
    """The rules, and each textbook test (after sori's two) again at the alarm rate of sori's rule."""
    sori, day_alone, *textbook = rule_set
    target = sum(sori.flags(d.series.counts, d.series.mined, d.day) for d in days)
    return [sori, day_alone, *(r for rule in textbook for r in (rule, rule.at_alarm_rate(days, target)))]


# (label, days it applies to, the complaints it adds on each of its days, the last on the judged day)
Incident = tuple[str, Callable[[JudgedDay], bool], Callable[[JudgedDay], list[int]]]


def _busy(day: JudgedDay) -> bool:
    return day.mean >= BUSY


INCIDENTS: tuple[Incident, ...] = (
    *((f"+{k}", lambda day: True, lambda day, k=k: [k]) for k in (5, 10, 20)),
    ("+4 ×3 days", lambda day: True, lambda day: [4, 4, 4]),
    *((f"×{r} busy{suffix}", _busy, lambda day, r=r, n=n: [math.ceil((r - 1) * day.mean)] * n)
      for r in (2, 3) for suffix, n in (("", 1), (" ×3 days", 3))),
)


def _with_incident(day: JudgedDay, extra: list[int]) -> dict[date, int]:
    """The key's counts with the incident's complaints added, its last day on `day`."""
    counts = dict(day.series.counts)
    incident_days = day.before(len(extra))
    for incident_day, more in zip(incident_days, extra[-len(incident_days):], strict=True):
        counts[incident_day] = counts.get(incident_day, 0) + more
    return counts


def found(rule: Rule, day: JudgedDay, extra: list[int]) -> bool:
    """Whether the rule flags any day of the incident, each judged with what had happened by then."""
    counts = _with_incident(day, extra)
    return any(rule.flags(counts, day.series.mined, d) for d in day.before(len(extra)))


def incident_recall(days: Sequence[JudgedDay], rule_set: Sequence[Rule], sample: int,
                    seed: int = 7) -> dict[str, dict[str, float]]:
    """Per rule and incident, the share of sampled days (those it applies to) whose incident is found."""
    chosen = random.Random(seed).sample(list(days), min(sample, len(days)))
    return {rule.name: {label: float(np.mean([found(rule, d, extra(d)) for d in chosen if applies(d)]))
                        for label, applies, extra in INCIDENTS}
            for rule in rule_set}


# Incidents lasting days, of which the share of days flagged is measured.
LASTING: tuple[Incident, ...] = (
    ("+4 ×3 days", lambda day: True, lambda day: [4, 4, 4]),
    *((f"×3 busy ×{n} days", _busy, lambda day, n=n: [math.ceil(2 * day.mean)] * n) for n in (3, 5)),
)


def _calendar(end: date, days: int) -> list[date]:
    return [end - timedelta(days=i) for i in range(days - 1, -1, -1)]


def key_verdicts(days: Sequence[JudgedDay], settings: EmergingConfig) -> dict[str, dict[date, dict | None]]:
    """Per key of these days, the detector's verdict (`judge_key`) on every calendar day of its history."""
    keys = {d.series.key: d.series for d in days}.values()
    span = {one.key: (one.ordered[-1] - one.ordered[0]).days + 1 for one in keys}
    return {one.key: judge_key(one.counts, one.mined, _calendar(one.ordered[-1], span[one.key]), settings)
            for one in keys}


def _flagged(verdicts: Mapping[date, dict | None]) -> set[date]:
    return {d for d, row in verdicts.items() if row and row["flag"]}


def lasting_figures(days: Sequence[JudgedDay], verdicts: Mapping[str, Mapping[date, dict | None]],
                    settings: EmergingConfig, sample: int, seed: int = 7) -> dict[str, dict[str, float]]:
    """Flags per 1,000 real key-days that continue an incident, and for incidents lasting days the share
    of their days flagged, by the day and window tests alone and with continuation (`judge_key`, which
    reads the 2 × trend_days before the judged day); `verdicts` are `key_verdicts` of the days."""
    lookback = 2 * settings.trend_days
    continuing = [bool((row := verdicts[d.series.key][d.day]) and row["continues"]) for d in days]
    figures: dict[str, dict[str, float]] = {
        "day and window tests": {}, "with continuation": {"per_1000": 1000 * float(np.mean(continuing))}}
    chosen = random.Random(seed).sample(list(days), min(sample, len(days)))
    for label, applies, extra in LASTING:
        alone, carried = [], []
        for d in (d for d in chosen if applies(d)):
            more = extra(d)
            counts, incident_days = _with_incident(d, more), d.before(len(more))
            judged = judge_key(counts, d.series.mined, _calendar(d.day, len(more) + lookback), settings)
            alone.append(np.mean([bool((j := judge_series(counts, d.series.mined, i, settings)) and j["flag"])
                                  for i in incident_days]))
            carried.append(np.mean([bool(judged[i] and judged[i]["flag"]) for i in incident_days]))
        figures["day and window tests"][label] = float(np.mean(alone))
        figures["with continuation"][label] = float(np.mean(carried))
    return figures


# Trends: complaints that grow linearly for RAMP_DAYS days up to a peak of extra complaints a day.
RAMP_DAYS = 21
RAMPS: tuple[Incident, ...] = (
    *((f"ramp to +{k}/day", lambda day: True, lambda day, k=k: _ramp(k)) for k in (3, 6)),
    *((f"ramp to ×{r} busy", _busy, lambda day, r=r: _ramp((r - 1) * day.mean)) for r in (2, 3)),
)


def _ramp(peak: float) -> list[int]:
    return [round(peak * (i + 1) / RAMP_DAYS) for i in range(RAMP_DAYS)]


def rising(settings: EmergingConfig, counts: Mapping[date, int], mined: frozenset[date], day: date) -> bool:
    """sori's trend test on `day`, with the flagged days of its trend window as the detector sees them."""
    flags = _flagged(judge_key(counts, mined, _calendar(day, 2 * settings.trend_days), settings))
    return judge_trend(counts, mined, day, settings, flags)["rising"]


def poisson_trend_score(settings: EmergingConfig, counts: Mapping[date, int], mined: frozenset[date],
                        day: date) -> float:
    """The textbook trend test: −log10 p of the trend window's total under a Poisson with the baseline's
    rate (−inf short of sori's count and ratio minimums)."""
    recent = recent_days(day, settings.trend_days, mined)
    earlier = baseline_days(day, mined, settings, skip=settings.trend_days - 1)
    if len(recent) < settings.trend_days // 2 or len(earlier) < settings.min_baseline_days:
        return -np.inf
    count = sum(counts.get(d, 0) for d in recent)
    expected = max(float(np.mean([counts.get(d, 0) for d in earlier])), 0.5 / len(earlier)) * len(recent)
    if count < settings.min_count or count < settings.trend_min_ratio * expected:
        return -np.inf
    return float(-np.log10(max(poisson.sf(count - 1, expected), 1e-300)))


def trend_figures(days: Sequence[JudgedDay], verdicts: Mapping[str, Mapping[date, dict | None]],
                  settings: EmergingConfig, sample: int, seed: int = 7) -> dict[str, dict[str, float]]:
    """Per trend test: rising days per 1,000 real key-days, and the share of ramps flagged rising on
    their last day; the Poisson test at max_trend_p_value and at the threshold that flags as many real
    days as sori's; beside them, how often the spike test flags any day of a ramp. `verdicts` are
    `key_verdicts` of the days."""
    flagged = {key: _flagged(judged) for key, judged in verdicts.items()}
    sori = [judge_trend(d.series.counts, d.series.mined, d.day, settings, flagged[d.series.key])["rising"]
            for d in days]
    usual = -math.log10(settings.max_trend_p_value)
    calibrated = alarm_threshold([poisson_trend_score(settings, d.series.counts, d.series.mined, d.day)
                                  for d in days], sum(sori))

    def poisson_at(threshold: float) -> Callable[[Mapping[date, int], frozenset[date], date], bool]:
        return lambda counts, mined, day: poisson_trend_score(settings, counts, mined, day) >= threshold

    tests = {"sori, rising": functools.partial(rising, settings),
             f"Poisson trend test ({usual:.2f} −log10 p)": poisson_at(usual),
             f"the same at sori's rate ({calibrated:.2f})": poisson_at(calibrated)}
    figures = {name: {"per_1000": 1000 * float(np.mean(
        sori if name == "sori, rising" else [test(d.series.counts, d.series.mined, d.day) for d in days]))}
        for name, test in tests.items()}
    chosen = random.Random(seed).sample(list(days), min(sample, len(days)))
    spike = Rule("sori's spike test, any ramp day", rules(settings)[0].score, 1.0)
    figures[spike.name] = {}
    for label, applies, extra in RAMPS:
        ramped = [(d, _with_incident(d, extra(d))) for d in chosen if applies(d)]
        for name, test in tests.items():
            figures[name][label] = float(np.mean([test(more, d.series.mined, d.day) for d, more in ramped]))
        figures[spike.name][label] = float(np.mean([found(spike, d, extra(d)) for d, _ in ramped]))
    return figures


def load_reviews(root: Path) -> list[tuple[str, str, int, str]]:
    """(key, date, stars, text) of every dated review of both corpora."""
    from models.evaluation.gold import read_table

    reviews = []
    for dataset, key_column in CORPORA.items():
        table = read_table(root, dataset)
        for key, day, rating, text in zip(table[key_column], table["date"], table["rating"], table["text"],
                                          strict=True):
            if day and rating:
                reviews.append((f"{dataset.split('_')[0]}:{key}", day, int(float(rating)), text))
    return reviews


def key_series(reviews: Sequence[tuple[str, str, int, str]]) -> list[KeySeries]:
    mined: dict[str, set[date]] = defaultdict(set)
    low: dict[str, Counter[date]] = defaultdict(Counter)
    for key, day, stars, _ in reviews:
        mined[key].add(date.fromisoformat(day))
        if stars <= LOW_STARS:
            low[key][date.fromisoformat(day)] += 1
    return [KeySeries(key, dict(low[key]), frozenset(days)) for key, days in sorted(mined.items())]


def judged_days(series: Sequence[KeySeries], settings: EmergingConfig) -> list[JudgedDay]:
    """Every mined day of every key with enough mined baseline days to be judged."""
    judged = []
    for one in series:
        for day in sorted(one.mined):
            history = baseline_days(day, one.mined, settings)
            if len(history) >= settings.min_baseline_days:
                judged.append(JudgedDay(one, day, tuple(one.counts.get(d, 0) for d in history)))
    return judged


def rising_nouns(reviews: Sequence[tuple[str, str, int, str]], day: JudgedDay, top: int = 4) -> list[str]:
    """The nouns of the day's low-star reviews most over-represented against the key's other ones."""
    from pipeline.text.korean import shared_kiwi

    kiwi = shared_kiwi()

    def nouns(texts: list[str]) -> Counter:
        counts: Counter = Counter()
        for tokens in kiwi.tokenize(texts):
            counts.update({t.form for t in tokens if t.tag in ("NNG", "NNP") and len(t.form) > 1})
        return counts

    low = [r for r in reviews if r[0] == day.series.key and r[2] <= LOW_STARS]
    today = nouns([r[3] for r in low if r[1] == day.day.isoformat()])
    rest = nouns([r[3] for r in low if r[1] != day.day.isoformat()])
    total_today, total_rest = sum(today.values()) or 1, sum(rest.values()) or 1
    lift = {word: (n / total_today) / ((rest[word] + 1) / total_rest) for word, n in today.items() if n >= 2}
    return sorted(lift, key=lift.get, reverse=True)[:top]


def report(days: Sequence[JudgedDay], rule_set: Sequence[Rule], recall: dict[str, dict[str, float]],
           sample: int) -> tuple[str, dict[str, float]]:
    keys = len({d.series.key for d in days})
    rates = {rule.name: 1000 * sum(rule.flags(d.series.counts, d.series.mined, d.day) for d in days)
             / len(days) for rule in rule_set}
    lines = [f"{len(days):,} judged key-days over {keys} apps and hotels (daily 1–2★ reviews; incidents on "
             f"{min(sample, len(days)):,} sampled days, busy: baseline mean ≥ {BUSY:g})", ""]
    header = ["rule", "threshold", "flags / 1,000 key-days", *(label for label, _, _ in INCIDENTS)]
    body = [[rule.name, f"{rule.threshold:.2f} {rule.unit}" if rule.unit else "config",
             f"{rates[rule.name]:.1f}", *(f"{recall[rule.name][label]:.3f}" for label, _, _ in INCIDENTS)]
            for rule in rule_set]
    lines.append(_table(header, body))
    return "\n".join(lines), rates


def _table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                     for row in [header, ["-" * w for w in widths], *body])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.evaluation.evaluate_emerging",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=None, help="sori config (default: configs/sori.yaml)")
    parser.add_argument("--sample", type=int, default=2000, help="days to add incidents to")
    parser.add_argument("--top", type=int, default=8, help="flagged real days to list")
    parser.add_argument("--keys", type=int, help="only the first N apps and hotels (a quick check)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    settings = load_config(args.config).emerging
    try:
        root = require([f"{dataset}/reviews.tsv.gz" for dataset in CORPORA], "review corpora")
    except SharedDataMissing as exc:
        print(f"evaluate_emerging: {exc}", file=sys.stderr)
        return 2
    reviews = load_reviews(root)
    days = judged_days(key_series(reviews)[: args.keys], settings)
    rule_set = with_calibrated(rules(settings), days)
    recall = incident_recall(days, rule_set, args.sample)
    table, rates = report(days, rule_set, recall, args.sample)
    print(table)
    verdicts = key_verdicts(days, settings)
    lasting = lasting_figures(days, verdicts, settings, args.sample)
    print("\nincidents lasting days: the share of their days flagged (continuing an incident: a day above the"
          "\nflagged day's expected count whose unflagged recent days still hold twice as much)\n")
    print(_table(["rule", "continuing flags / 1,000 key-days", *(label for label, _, _ in LASTING)],
                 [[name, f"{f['per_1000']:.1f}" if "per_1000" in f else "",
                   *(f"{f[label]:.3f}" for label, _, _ in LASTING)] for name, f in lasting.items()]))
    trends = trend_figures(days, verdicts, settings, args.sample)
    print(f"\nrising pain ({settings.trend_days} days against the {settings.baseline_days} before; "
          f"ramps grow linearly over {RAMP_DAYS} days, found when flagged on their last day)\n")
    print(_table(["test", "flags / 1,000 key-days", *(label for label, _, _ in RAMPS)],
                 [[name, f"{f['per_1000']:.1f}" if "per_1000" in f else "",
                   *(f"{f[label]:.3f}" for label, _, _ in RAMPS)] for name, f in trends.items()]))
    print("\nsori's highest-scoring flagged days (count vs expected; nouns that rose most):")
    judged = [(d, judge_series(d.series.counts, d.series.mined, d.day, settings)) for d in days]
    flagged = sorted(((d, v) for d, v in judged if v and v["flag"]), key=lambda pair: pair[1]["score"],
                     reverse=True)
    for day, verdict in flagged[: args.top]:
        print(f"  {day.series.key:32} {day.day}  {day.count:3d} vs {verdict['expected']:5.1f}  "
              f"{', '.join(rising_nouns(reviews, day))}")
    if args.json:
        args.json.write_text(json.dumps({
            "key_days": len(days), "keys": len({d.series.key for d in days}),
            "sample": min(args.sample, len(days)),
            "thresholds": {rule.name: rule.threshold for rule in rule_set},
            "flags_per_1000": rates, "recall": recall, "lasting": lasting, "trends": trends,
        }, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What the lexical sentiment view costs per sentence in the pipeline, on the bundled sample reviews.

    python -m models.evaluation.bench_lexical [--reviews 437] [--repeat 3]

Times (best of `--repeat`): the sentence-split stage (`KoreanAnalyzer.sentences`, which records each
sentence's morphemes), the share of it spent writing the `form/tag` strings, scoring the recorded
morphemes with the builtin view, and what tokenising the sentences a second time would cost instead;
and how many sentences' recorded morphemes equal a fresh tokenisation of the text the models read.
Needs no ../shared data.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Callable

from models.lexical import LexicalSentiment, kiwi_morphemes
from pipeline.config import PROJECT_ROOT
from pipeline.text.korean import KoreanAnalyzer, morphemes_of, shared_kiwi
from pipeline.text.normalize import normalize_text

SAMPLE = PROJECT_ROOT / "data" / "samples" / "reviews.csv"


def best(work: Callable[[], object], repeat: int) -> float:
    """The shortest of `repeat` wall-clock runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reviews", type=int, default=437)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    with open(SAMPLE, encoding="utf-8", newline="") as fh:
        texts = [normalize_text(row["review_text"]) for row in csv.DictReader(fh)][: args.reviews]
    kiwi = shared_kiwi()
    analyzer, lexical = KoreanAnalyzer(kiwi), LexicalSentiment.load()
    sentences = [s for group in analyzer.sentences(texts) for s in group]
    tokens = [t for text in kiwi.split_into_sents(texts, return_tokens=True) for s in text for t in s.tokens]
    split = best(lambda: analyzer.sentences(texts), args.repeat)
    record = best(lambda: morphemes_of(tokens), args.repeat)
    score = best(lambda: lexical.log_proba_morphemes([s.morphemes or () for s in sentences]), args.repeat)
    again = best(lambda: kiwi_morphemes([s.model_text for s in sentences], kiwi), args.repeat)
    fresh = kiwi_morphemes([s.model_text for s in sentences], kiwi)
    same = sum(list(s.morphemes or ()) == m for s, m in zip(sentences, fresh, strict=True))
    n = len(sentences)
    print(f"{len(texts)} reviews, {n} sentences, {len(tokens)} tokens (best of {args.repeat})")
    print(f"split stage, morphemes recorded: {split * 1000:.0f} ms")
    print(f"writing the form/tag strings: {record * 1000:.1f} ms ({100 * record / split:.1f}% of the split)")
    print(f"lexical scoring of the recorded morphemes: {score * 1000:.0f} ms ({n / score:,.0f} sentences/s)")
    print(f"tokenising the sentences again instead: {again * 1000:.0f} ms ({n / again:,.0f} sentences/s)")
    print(f"recorded morphemes equal to a fresh tokenisation of the model text: {same}/{n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

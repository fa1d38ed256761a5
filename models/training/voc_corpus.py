"""The written VOC corpus (`data/voc/*.csv`): customer sentences written for sori and labelled by
docs/labelling-guide.md, the training data of the pain, category, touchpoint and response heads.

Every file has the columns of `COLUMNS`; `load_voc_corpus()` reads them all and refuses a row that breaks
the guide's rules (unknown keys, labels on a sentence without pain, `other` beside another category, a
text written twice) with the file and line, so a mislabelled row fails loudly instead of teaching a head
the wrong thing. `python -m models.training.voc_corpus [folder]` prints the counts the datasheet
(data/voc/README.md) reports and what falls short of `MINIMUM_COUNTS`.
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import Taxonomy, load_taxonomy

REPO = Path(__file__).resolve().parents[2]
CORPUS_DIR = REPO / "data" / "voc"
TAXONOMY = REPO / "configs" / "taxonomy.yaml"
COLUMNS = ["text", "has_pain", "categories", "touchpoint", "response_needed", "channel", "domain", "noise",
           "kind"]
CHANNELS = {"review", "survey", "chat"}
# How the sentence departs from clean written Korean; `clean` when it does not.
NOISE = {"clean", "spacing", "slang", "typo", "jamo", "emoji", "english", "runon"}
# What a sentence without pain is: the hard negatives a head must learn to leave alone.
NEGATIVE_KINDS = {"praise", "question", "denied", "narration", "thanks", "accepted_drawback", "wish",
                  "neutral"}
PAIN_KIND = "complaint"
# What issue 29 asks of the corpus: each category and touchpoint often enough to learn.
MINIMUM_COUNTS = {"sentences": 8000, "per_category": 300, "per_touchpoint": 500}


class CorpusError(ValueError):
    """A row that breaks the labelling guide; the message names its file and line."""


@dataclass(frozen=True)
class VocSentence:
    text: str
    has_pain: bool
    categories: tuple[str, ...]  # primary first; empty without pain
    touchpoint: str | None
    response_needed: bool | None
    channel: str
    domain: str
    noise: tuple[str, ...]
    kind: str


def _flag(value: str, where: str, column: str) -> bool:
    if value not in {"0", "1"}:
        raise CorpusError(f"{where}: {column} must be 0 or 1, not {value!r}")
    return value == "1"


def parse_row(row: dict[str, str], taxonomy: Taxonomy, where: str) -> VocSentence:
    """One CSV row checked against the guide's rules."""
    text = (row.get("text") or "").strip()
    if not text:
        raise CorpusError(f"{where}: empty text")
    has_pain = _flag(row["has_pain"], where, "has_pain")
    categories = tuple(key for key in (row["categories"] or "").split(";") if key)
    touchpoint = row["touchpoint"] or None
    kind = row["kind"]
    if has_pain:
        if not categories or touchpoint is None or row["response_needed"] == "":
            raise CorpusError(f"{where}: a pain sentence needs categories, a touchpoint and response_needed")
        unknown = [key for key in categories if key not in taxonomy.categories]
        if unknown or touchpoint not in taxonomy.touchpoints:
            raise CorpusError(f"{where}: unknown taxonomy keys {unknown or [touchpoint]}")
        if "other" in categories and len(categories) > 1:
            raise CorpusError(f"{where}: `other` is never given together with another category")
        if len(set(categories)) != len(categories):
            raise CorpusError(f"{where}: a category repeated in {categories}")
        if kind != PAIN_KIND:
            raise CorpusError(f"{where}: a pain sentence has kind {PAIN_KIND!r}, not {kind!r}")
        response_needed: bool | None = _flag(row["response_needed"], where, "response_needed")
    else:
        if categories or touchpoint or row["response_needed"]:
            raise CorpusError(f"{where}: a sentence without pain has no categories, touchpoint or response")
        if kind not in NEGATIVE_KINDS:
            raise CorpusError(f"{where}: kind {kind!r} is not one of {sorted(NEGATIVE_KINDS)}")
        response_needed = None
    if row["channel"] not in CHANNELS:
        raise CorpusError(f"{where}: channel {row['channel']!r} is not one of {sorted(CHANNELS)}")
    noise = tuple(n for n in (row["noise"] or "clean").split(";") if n)
    if not set(noise) <= NOISE:
        raise CorpusError(f"{where}: noise {sorted(set(noise) - NOISE)} is not one of {sorted(NOISE)}")
    if not row["domain"]:
        raise CorpusError(f"{where}: empty domain")
    return VocSentence(text, has_pain, categories, touchpoint, response_needed, row["channel"], row["domain"],
                       noise, kind)


def text_key(text: str) -> str:
    """Duplicates are judged with spaces and case ignored."""
    return "".join(text.split()).lower()


def load_voc_corpus(directory: Path = CORPUS_DIR, taxonomy_path: Path = TAXONOMY) -> list[VocSentence]:
    """Every sentence of every CSV under `directory`, in file order, each checked against the guide."""
    taxonomy = load_taxonomy(taxonomy_path)
    sentences: list[VocSentence] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames != COLUMNS:
                raise CorpusError(f"{path.name}: columns must be {COLUMNS}, not {reader.fieldnames}")
            for line, row in enumerate(reader, start=2):
                where = f"{path.name}:{line}"
                sentence = parse_row(row, taxonomy, where)
                key = text_key(sentence.text)
                if key in seen:
                    raise CorpusError(f"{where}: the same text as {seen[key]}")
                seen[key] = where
                sentences.append(sentence)
    return sentences


@dataclass
class CorpusCounts:
    sentences: int
    pain: int
    categories: Counter
    touchpoints: Counter
    channels: Counter
    noise: Counter
    kinds: Counter
    multi_label: int
    response_needed: int

    def shortfalls(self, taxonomy: Taxonomy) -> list[str]:
        """What the corpus still lacks against `MINIMUM_COUNTS`."""
        out = []
        if self.sentences < MINIMUM_COUNTS["sentences"]:
            out.append(f"sentences {self.sentences} < {MINIMUM_COUNTS['sentences']}")
        out += [f"category {key} {self.categories[key]} < {MINIMUM_COUNTS['per_category']}"
                for key in taxonomy.categories if self.categories[key] < MINIMUM_COUNTS["per_category"]]
        out += [f"touchpoint {key} {self.touchpoints[key]} < {MINIMUM_COUNTS['per_touchpoint']}"
                for key in taxonomy.touchpoints if self.touchpoints[key] < MINIMUM_COUNTS["per_touchpoint"]]
        return out


def count(sentences: list[VocSentence]) -> CorpusCounts:
    """Counts by label; a multi-label sentence counts once for each of its categories."""
    pain = [s for s in sentences if s.has_pain]
    return CorpusCounts(
        sentences=len(sentences), pain=len(pain),
        categories=Counter(key for s in pain for key in s.categories),
        touchpoints=Counter(s.touchpoint for s in pain),
        channels=Counter(s.channel for s in sentences),
        noise=Counter(n for s in sentences for n in s.noise),
        kinds=Counter(s.kind for s in sentences),
        multi_label=sum(len(s.categories) > 1 for s in pain),
        response_needed=sum(bool(s.response_needed) for s in pain),
    )


def main(argv: list[str]) -> int:
    """Counts of the corpus under `argv[0]` (default data/voc); exit status 1 while it falls short."""
    counts = count(load_voc_corpus(Path(argv[0]) if argv else CORPUS_DIR))
    print(f"sentences {counts.sentences}, pain {counts.pain}, multi-label {counts.multi_label}, "
          f"response needed {counts.response_needed}")
    for name in ("categories", "touchpoints", "channels", "noise", "kinds"):
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in getattr(counts, name).most_common()))
    shortfalls = counts.shortfalls(load_taxonomy(TAXONOMY))
    print("short of the minimum: " + ("; ".join(shortfalls) if shortfalls else "nothing"))
    return 1 if shortfalls else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

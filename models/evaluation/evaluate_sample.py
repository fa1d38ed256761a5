"""How well sori reads its own bundled sample, against the ground truth the sample's generator keeps.

    python -m models.evaluation.evaluate_sample [--config PATH] [--limit N] [--json PATH]

`data/make_samples.py` writes `data/samples/` and knows, for every review, survey response and
conversation, which complaints it put in: one category key per complaining sentence, including a
request for a change ("결제 단계 좀 줄여주세요", a complaint by docs/labelling-guide.md). This reads the
config's sources as the nightly run does, runs the pipeline's batch stages (normalise … tag) and scores
per item, the unit the generator labels: a review, a survey response (all its answers), a
conversation (all its customer turns).

* pain: whether sori found a pain point in the item, against whether the generator put a complaint in;
* categories, over the items with a complaint: per key, the item's categories (all its pain points)
  against the generator's; macro-F1 over the keys with at least 10 such items, `other` left out (the
  generator never writes a complaint without a category);
* how sure: the items whose surest pain point reaches each `pain_probability` cut, and their precision.

It needs no `../shared` data, so a model, taxonomy or threshold change can be measured on the
product's own domain anywhere. The generator writes templates with noise, not real reviews: these
figures say how well sori reads that shop; `models.evaluation.evaluate_tagging` measures real reviews.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from models.evaluation.scoring import (
    MIN_SUPPORT,
    PAIN_PROBABILITY_CUTS,
    binary_scores,
    category_scores,
    kept_above,
    macro_f1,
)
from pipeline.components.tagger import OTHER

if TYPE_CHECKING:
    from pipeline.config import SoriConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
GENERATOR = REPO_ROOT / "data" / "make_samples.py"


def sample_generator() -> ModuleType:
    """data/make_samples.py as a module (data/ is not a package)."""
    spec = importlib.util.spec_from_file_location("sori_make_samples", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the classes are built
    spec.loader.exec_module(module)
    return module


def ground_truth() -> dict[tuple[str, str], tuple[str, ...]]:
    """(source, id) → the category keys of the complaints the generator wrote into that item."""
    items = sample_generator().generate().items()
    return {(source, item_id): truth.pains for source, item_id, _, truth in items}


def predicted(config: SoriConfig, limit: int | None) -> tuple[dict[tuple[str, str], set[str]],
                                                                dict[tuple[str, str], float]]:
    """(source, id) → the categories of the item's pain points (empty: none), the first `limit` ids of
    each source when given; and → the highest pain_probability of its pain points, where it has one."""
    from pipeline.ingest.sources import open_source
    from pipeline.nlp import Pipeline

    batch_stages, _ = Pipeline.from_config(config).split()
    out: dict[tuple[str, str], set[str]] = {}
    surest: dict[tuple[str, str], float] = {}
    for source in config.sources:
        batch = open_source(source, config.tz).read(None)
        ids = sorted({item.source_id for item in batch.items})[: limit or None]
        kept = set(ids)
        items = [item for item in batch.items if item.source_id in kept]
        out.update({(source.name, item_id): set() for item_id in ids})
        for doc in batch_stages(items, batch.conversations):
            key = (source.name, doc.item.source_id)
            out[key].update(k for s in doc.pain_sentences for k in s.categories)
            for s in doc.pain_sentences:
                if s.pain_probability is not None:
                    surest[key] = max(surest.get(key, 0.0), s.pain_probability)
    return out, surest


def score(truth: dict[tuple[str, str], tuple[str, ...]], found: dict[tuple[str, str], set[str]],
          category_keys: Sequence[str], surest: dict[tuple[str, str], float] | None = None) -> dict[str, Any]:
    """Pain per source and overall; categories over the items the generator put a complaint in; with
    `surest` (an item's highest pain_probability), the precision of the items at each cut."""
    missing = [key for key in found if key not in truth]
    if missing:
        raise ValueError(f"{len(missing)} items are not in the generator's sample (e.g. {missing[0]}): "
                         "point --config at the bundled sample's sources")
    keys = sorted(found)
    by_source: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key in keys:
        by_source[key[0]].append(key)
    pain = {source: binary_scores([bool(truth[k]) for k in ks], [bool(found[k]) for k in ks])
            for source, ks in [*by_source.items(), ("all", keys)]}
    complaints = [k for k in keys if truth[k]]
    per_key = category_scores([set(truth[k]) for k in complaints], [found[k] for k in complaints],
                              [k for k in category_keys if k != OTHER])
    macro, macro_keys = macro_f1(per_key, MIN_SUPPORT)
    return {"items": len(keys), "pain": pain, "categories": per_key, "category_macro_f1": macro,
            "macro_f1_keys": macro_keys,
            "left_other": sum(found[k] == {OTHER} for k in complaints),
            "confidence": kept_above([(bool(truth[k]), p) for k, p in sorted((surest or {}).items())
                                      if found[k]], PAIN_PROBABILITY_CUTS, "precision")}


def report(result: dict[str, Any]) -> str:
    lines = [f"bundled sample: {result['items']} items (reviews, survey responses, conversations)", "",
             f"{'pain':10s} {'n':>5s} {'accuracy':>9s} {'precision':>9s} {'recall':>7s}"]
    for source, s in result["pain"].items():
        lines.append(f"{source:10s} {s['n']:5d} {s['accuracy']:9.3f} {s['precision']:9.3f} "
                     f"{s['recall']:7.3f}")
    lines.append("how sure: items whose surest pain point has pain_probability ≥ "
                 + ", ".join(f"{c['cut']}: {c['kept']:.0%} kept, precision {c['precision']:.3f}"
                             for c in result["confidence"]))
    lines += ["", f"categories over items with a complaint: macro-F1 {result['category_macro_f1']:.3f} "
                  f"({len(result['macro_f1_keys'])} keys with ≥ {MIN_SUPPORT} items); "
                  f"{result['left_other']} complaints tagged only `other`",
              f"{'category':16s} {'items':>5s} {'found':>5s} {'P':>5s} {'R':>5s} {'F1':>5s}"]
    for key, s in result["categories"].items():
        lines.append(f"{key:16s} {s['support']:5d} {s['predicted']:5d} {s['precision']:5.2f} "
                     f"{s['recall']:5.2f} {s['f1']:5.2f}")
    return "\n".join(lines)


def run(config_path: str | None = None, limit: int | None = None) -> dict[str, Any]:
    from pipeline.config import load_config

    started = time.time()
    config = load_config(config_path)
    found, surest = predicted(config, limit)
    result = score(ground_truth(), found, list(config.load_taxonomy().categories), surest)
    result["seconds"] = round(time.time() - started, 1)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="sori config (default configs/sori.yaml, reading the sample)")
    parser.add_argument("--limit", type=int, help="score only the first N items of each source")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    result = run(args.config, args.limit)
    print(report(result))
    print(f"\n{result['seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

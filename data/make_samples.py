"""Seeded generator of sori's synthetic Korean voice-of-customer samples.

Everything here is invented for the fictional company 소리마켓 (online shop, delivery, app and call
centre); no third-party text is used. Three files are written to ``data/samples/``:

* ``reviews.csv``   product and store reviews with a star rating;
* ``surveys.jsonl`` NPS answers with two free-text questions;
* ``chats.csv``     customer-service chats, one row per turn (customer, bot or agent).

Texts are composed from the templates and slot fillers in ``data/samplegen/templates/*.yaml``, then
roughened the way customers type: spaces dropped, typos, slang, elongation, ㅋㅋ/ㅠㅠ and emoji. Two
events are planted for emerging-issue detection: a delivery-delay surge (delivery and waiting
complaints at about three times the usual daily rate) on 2026-10-20..24, and app crashes
(reliability) growing day by day after the app update of 2026-10-06. The ground truth (tone, pain
categories, events) is available from :func:`generate` but never written to the files: sori has to
find the pain on its own.

Run ``python data/make_samples.py [--out DIR] [--seed N]``; the same seed gives byte-identical files.
This file is the stable entry point (scripts and tests load it by path); the code lives in the
``samplegen`` package beside it, which is loaded by path too, so it works from any working directory.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

_PACKAGE_DIR = Path(__file__).resolve().parent / "samplegen"
_PACKAGE_NAME = "sori_samplegen"  # a name no installed package uses; data/ is not on sys.path


def _load_samplegen() -> ModuleType:
    """The ``samplegen`` package beside this file, imported once under :data:`_PACKAGE_NAME`."""
    if _PACKAGE_NAME in sys.modules:
        return sys.modules[_PACKAGE_NAME]
    spec = importlib.util.spec_from_file_location(
        _PACKAGE_NAME, _PACKAGE_DIR / "__init__.py", submodule_search_locations=[str(_PACKAGE_DIR)]
    )
    assert spec and spec.loader
    package = importlib.util.module_from_spec(spec)
    sys.modules[_PACKAGE_NAME] = package  # before running it, so its relative imports find it
    try:
        spec.loader.exec_module(package)
    except BaseException:
        del sys.modules[_PACKAGE_NAME]
        raise
    return package


_samplegen = _load_samplegen()

# The public interface callers rely on (see models/evaluate_sample.py and tests/test_sample_data.py).
SEED: int = _samplegen.SEED
KST = _samplegen.KST
START = _samplegen.START
END = _samplegen.END
SPIKE_START = _samplegen.SPIKE_START
SPIKE_END = _samplegen.SPIKE_END
APP_UPDATE = _samplegen.APP_UPDATE
DEFAULT_OUT: Path = _samplegen.DEFAULT_OUT
CATEGORIES: dict[str, str] = _samplegen.CATEGORIES
TOUCHPOINTS: dict[str, str] = _samplegen.TOUCHPOINTS
Truth = _samplegen.Truth
Review = _samplegen.Review
Survey = _samplegen.Survey
Turn = _samplegen.Turn
Chat = _samplegen.Chat
SampleSet = _samplegen.SampleSet
generate = _samplegen.generate
write_samples = _samplegen.write_samples
main = _samplegen.main


def _cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: data/samples)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default: {SEED})")
    args = parser.parse_args()
    paths = main(args.out, args.seed)
    for name, path in paths.items():
        print(f"{name:8s} {path}  {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    _cli()

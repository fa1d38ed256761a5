"""sori's synthetic sample generator, behind ``data/make_samples.py``.

Modules: ``period`` (dates, volumes), ``tables`` (the YAML templates), ``hangul`` and ``noise`` (Korean
particles, typing noise), ``people`` (invented personal data), ``text`` (one text and its ground
truth), ``reviews``, ``surveys`` and ``chats`` (one item each), ``assemble`` (schedule, files). The
package is loaded by path from ``data/make_samples.py`` (data/ is not a package), so modules import
each other relatively only.
"""

from .assemble import DEFAULT_OUT, generate, main, write_samples
from .period import APP_UPDATE, END, KST, SEED, SPIKE_END, SPIKE_START, START
from .records import Chat, Review, SampleSet, Survey, Truth, Turn
from .tables import CATEGORIES, TOUCHPOINTS

__all__ = [
    "APP_UPDATE",
    "CATEGORIES",
    "DEFAULT_OUT",
    "END",
    "KST",
    "SEED",
    "SPIKE_END",
    "SPIKE_START",
    "START",
    "TOUCHPOINTS",
    "Chat",
    "Review",
    "SampleSet",
    "Survey",
    "Truth",
    "Turn",
    "generate",
    "main",
    "write_samples",
]

"""The word and template tables of ``templates/*.yaml``, loaded once at import.

Every YAML list becomes a tuple, as the Python literals these files replace were: tables are joined
with ``+`` and sliced, and nobody can change them by accident. Mapping order is kept because the
seeded draws walk the tables in file order; any edit therefore changes the sample files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


def _frozen(value: Any) -> Any:
    """``value`` with every list (at any depth) turned into a tuple."""
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    return value


def _load(name: str) -> Any:
    """The frozen contents of ``templates/<name>.yaml``."""
    with open(TEMPLATE_DIR / f"{name}.yaml", encoding="utf-8") as fh:
        return _frozen(yaml.safe_load(fh))


def pairs(grouped: dict[str, tuple[str, ...]]) -> tuple[tuple[str, str], ...]:
    """(key, text) for each text of a key -> texts table, in file order."""
    return tuple((key, text) for key, texts in grouped.items() for text in texts)


@dataclass(frozen=True)
class Product:
    """A product (or store) that reviews are written about."""

    name: str
    noun: str  # what customers call it in a sentence
    kind: str  # electronics | fashion | shoes | food | home | beauty | store | app


@dataclass(frozen=True)
class Pain:
    """Complaint material for one taxonomy category."""

    key: str
    sentences: tuple[str, ...]
    short: tuple[str, ...]
    suggestions: tuple[str, ...]


@dataclass(frozen=True)
class Topic:
    """Why a customer opens a chat."""

    key: str
    pain: str | None  # category of the issue itself (None for plain questions)
    openers: tuple[str, ...]
    details: tuple[str, ...]
    bot_answer: str  # empty when the bot has nothing useful to say
    fixes: tuple[str, ...]
    weight: int
    paired: bool = False  # fixes[i] answers openers[i]


_taxonomy = _load("taxonomy")
CATEGORIES: dict[str, str] = _taxonomy["categories"]
TOUCHPOINTS: dict[str, str] = _taxonomy["touchpoints"]
# Ground-truth touchpoints are read off the clean text with these hints (first match wins ties).
TOUCHPOINT_HINTS: dict[str, tuple[str, ...]] = _taxonomy["touchpoint_hints"]

_products = _load("products")
PRODUCTS = tuple(Product(**p) for p in _products["products"])
STORES = tuple(Product(**p) for p in _products["stores"])
APP = Product(**_products["app"])
SERVICE = Product(**_products["service"])  # surveys and chats are about the company as a whole
SIZES: dict[str, tuple[str, ...]] = _products["sizes"]
DEFECTS: dict[str, tuple[str, ...]] = _products["defects"]  # by noun; stores and the app by kind
SLOTS: dict[str, tuple[str, ...]] = _load("slots") | {
    "query": tuple(p.noun for p in PRODUCTS),
    "food": tuple(p.noun for p in PRODUCTS if p.kind == "food"),
}

PAINS = {key: Pain(key, **material) for key, material in _load("pains").items()}
_events = _load("events")
# Complaints during the delivery surge: mostly delays, plus a call centre that cannot keep up.
SPIKE_SENTENCES = pairs(_events["delivery_spike"])
UPDATE_SENTENCES: tuple[str, ...] = _events["app_update"]  # app crashes after the update

_topics = _load("topics")
TOPICS = tuple(Topic(**t) for t in _topics["topics"])
TOPIC_BY_KEY = {t.key: t for t in TOPICS}
UPDATE_TOPIC = Topic(openers=UPDATE_SENTENCES, **_topics["app_update_topic"])

PRAISE = SimpleNamespace(**_load("praise"))
NEUTRAL = SimpleNamespace(**_load("neutral"))
FRAMING = SimpleNamespace(**_load("framing"))
MIXES = SimpleNamespace(**_load("mixes"))
PEOPLE = SimpleNamespace(**_load("people"))
NOISE = SimpleNamespace(**_load("noise"))
_chat_lines = _load("chat_lines")
BOT = SimpleNamespace(**_chat_lines["bot"])
CUSTOMER = SimpleNamespace(**_chat_lines["customer"])
AGENT = SimpleNamespace(**_chat_lines["agent"])

if missing := [p.noun for p in PRODUCTS if p.noun not in DEFECTS]:
    raise ValueError(f"products.yaml: no defects for {missing}")
if set(PAINS) != set(CATEGORIES):
    raise ValueError("pains.yaml must have one entry per category of taxonomy.yaml")

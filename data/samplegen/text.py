"""Composing one text: a writer's context, a draft of sentences with its ground truth, and the choice
of complaint, praise and neutral templates by tone and length (reviews and survey reasons share it)."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from .hangul import SLOT, is_polite, with_josa
from .noise import finish, roughen
from .people import pii_sentence
from .period import APP_UPDATE
from .records import Truth
from .tables import (
    APP,
    DEFECTS,
    FRAMING,
    NEUTRAL,
    PAINS,
    PRAISE,
    SERVICE,
    SIZES,
    SLOTS,
    TOUCHPOINT_HINTS,
    UPDATE_SENTENCES,
    Product,
    pairs,
)

# Pain categories a complaint about a product (rather than the service) may open with a lead-in.
PRODUCT_PAINS = ("quality", "delivery", "packaging", "price_payment", "ignored_request")
# Praise that ends in ~는데, before a complaint; the key is the aspect praised ("general" fits any).
PRAISE_CLAUSES = pairs(PRAISE.clauses)
APP_PRAISE_ASPECTS = ("usability", "price_payment", "policy", "general")


@dataclass
class Context:
    """Random source and per-item settings used while writing one text."""

    rng: random.Random
    day: date
    product: Product
    polite: bool
    mess: float  # 0 = tidy writer, 1 = no spaces, typos, slang
    slots: dict[str, str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)  # templates already in this text

    @classmethod
    def new(cls, rng: random.Random, day: date, product: Product) -> Context:
        """A context with a random register and messiness."""
        polite = rng.random() < 0.62
        mess = rng.choices((0.0, 0.15, 0.35, 0.6, 0.9), weights=(26, 30, 22, 14, 8))[0]
        if not polite:
            mess = min(1.0, mess + 0.15)
        defects = DEFECTS.get(product.noun) or DEFECTS.get(product.kind) or DEFECTS["store"]
        sizes = SIZES.get(product.kind, SIZES["fashion"])
        slots = {"item": product.noun, "defect": rng.choice(defects), "size": rng.choice(sizes)}
        return cls(rng, day, product, polite, mess, slots)

    @property
    def after_update(self) -> bool:
        """Whether the day is on or after the app update."""
        return self.day >= APP_UPDATE

    def fill(self, template: str) -> str:
        """Fill {slot} and {slot:josa} placeholders (item slots first, then a random filler)."""

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            word = self.slots[name] if name in self.slots else self.rng.choice(SLOTS[name])
            return with_josa(word, match.group(2))

        return SLOT.sub(value, template)

    def pick(self, pool: Sequence[str]) -> str:
        """A template not used yet in this text, preferring the writer's register."""
        fresh = [t for t in pool if t not in self.used] or list(pool)
        same = [t for t in fresh if is_polite(t) == self.polite]
        choice = self.rng.choice(same if same and self.rng.random() < 0.7 else fresh)
        self.used.add(choice)
        return choice

    def finish(self, sentence: str, mood: str) -> str:
        """Add an end mark unless the sentence already has one or runs on (…는데)."""
        return finish(sentence, mood, self.rng, self.polite)

    def noisy(self, sentence: str, mood: str) -> str:
        """Roughen a clean sentence the way this writer types."""
        return roughen(sentence, mood, self.rng, self.polite, self.mess)


@dataclass
class Draft:
    """Sentences of one text under construction, with their ground truth."""

    ctx: Context
    parts: list[str] = field(default_factory=list)
    clean: list[str] = field(default_factory=list)
    pains: list[str] = field(default_factory=list)
    pii: bool = False

    def prepend(self, template: str, mood: str) -> None:
        """Put a sentence (a lead-in or an interjection) in front."""
        sentence = self.ctx.fill(template)
        self.clean.insert(0, sentence)
        self.parts.insert(0, self.ctx.noisy(sentence, mood))

    def add(self, template: str, mood: str, pain: str | None = None) -> None:
        """Fill, roughen and append one sentence."""
        sentence = self.ctx.fill(template)
        self.clean.append(sentence)
        self.parts.append(self.ctx.noisy(sentence, mood))
        if pain:
            self.pains.append(pain)

    def add_pii(self, mood: str) -> None:
        """Append a sentence with invented personal data (left tidy so masks can be checked)."""
        self.parts.append(self.ctx.finish(pii_sentence(self.ctx.rng, mood), "neu"))
        self.pii = True

    def text(self, newline_p: float = 0.0) -> str:
        """The finished text; sentences joined by spaces or, sometimes, newlines."""
        rng = self.ctx.rng
        out = self.parts[0]
        for part in self.parts[1:]:
            sep = "\n" if rng.random() < newline_p else ("" if rng.random() < self.ctx.mess * 0.3 else " ")
            out += sep + part
        return out.strip()

    def truth(self, tone: str, event: str | None = None) -> Truth:
        """Ground truth for the finished text."""
        return Truth(tone, tuple(self.pains), touchpoints_of(" ".join(self.clean)), event, self.pii)


def touchpoints_of(text: str) -> tuple[str, ...]:
    """Journey stages a clean text mentions (usage when none)."""
    squeezed = text.replace(" ", "")
    found = tuple(key for key, hints in TOUCHPOINT_HINTS.items() if any(h in squeezed for h in hints))
    return found or ("usage",)


def weighted(rng: random.Random, weights: dict[str, int]) -> str:
    """A key drawn with the given weights."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def choose_categories(rng: random.Random, weights: dict[str, int]) -> list[str]:
    """One or two distinct pain categories."""
    keys, w = list(weights), list(weights.values())
    first = rng.choices(keys, weights=w)[0]
    if rng.random() < 0.28:
        second = rng.choices(keys, weights=w)[0]
        if second != first:
            return [first, second]
    return [first]


def _lead_ins(product: Product) -> tuple[str, ...]:
    """Openers (…했는데) that fit what the text is about."""
    if product is SERVICE:
        return FRAMING.service_lead_ins
    if product.kind == "app":
        return FRAMING.app_lead_ins
    return FRAMING.lead_ins


def _maybe_lead_in(draft: Draft, tone: str, categories: Sequence[str], p: float) -> None:
    """Prepend a lead-in when it reads naturally before the first sentence."""
    ctx = draft.ctx
    if not draft.clean or "데 " in draft.clean[0] or ctx.rng.random() >= p:
        return
    if tone == "neutral" or (
        tone != "praise" and ctx.product is not SERVICE and categories[0] not in PRODUCT_PAINS
    ):
        return
    draft.prepend(ctx.pick(_lead_ins(ctx.product)), "neu")


def pain_template(ctx: Context, category: str) -> str:
    """A complaint template of the category (app-update crashes after the update)."""
    if (
        category == "reliability"
        and ctx.after_update
        and ctx.product in (APP, SERVICE)
        and ctx.rng.random() < 0.5
    ):
        return ctx.pick(UPDATE_SENTENCES)
    return ctx.pick(PAINS[category].sentences)


def praise_template(ctx: Context, service: bool = False) -> str:
    """A praise template fitting the product kind (or the service as a whole)."""
    rng = ctx.rng
    generic = PRAISE.generic
    if ctx.product.kind in ("store", "app"):
        generic = tuple(t for t in PRAISE.generic if "{item}" not in t)
    if service or ctx.product is SERVICE:
        return ctx.pick(PRAISE.service if rng.random() < 0.7 else generic)
    own = PRAISE.by_kind.get(ctx.product.kind, ())
    if ctx.product.kind == "app" or (own and rng.random() < 0.5):
        return ctx.pick(own)
    return ctx.pick(generic)


def praise_clause(ctx: Context, complaint: str) -> str:
    """A praising ~는데 clause about another aspect than the complaint (app texts praise the app)."""
    aspects = APP_PRAISE_ASPECTS if ctx.product.kind == "app" else None
    pool = [c for a, c in PRAISE_CLAUSES if a != complaint and (aspects is None or a in aspects)]
    return ctx.rng.choice(pool)


def _add_complaints(draft: Draft, categories: list[str], count: int) -> None:
    """Append ``count`` complaint sentences spread over the categories (first one gets most)."""
    for i in range(count):
        cat = categories[i] if i < len(categories) else categories[0]
        draft.add(pain_template(draft.ctx, cat), "neg", cat)


def _add_mixed(draft: Draft, categories: list[str]) -> None:
    """Praise and complaint in one text: 배송은 빨랐는데 포장이 엉망이네요."""
    ctx, rng = draft.ctx, draft.ctx.rng
    cat = categories[0]
    style = rng.random()
    if style < 0.55:
        draft.add(f"{praise_clause(ctx, cat)} {pain_template(ctx, cat)}", "neg", cat)
    elif style < 0.8:
        draft.add(pain_template(ctx, cat), "neg", cat)
        draft.add("그래도 " + praise_template(ctx), "pos")
    else:
        draft.add(praise_template(ctx), "pos")
        draft.add(rng.choice(("근데 ", "다만 ", "그런데 ", "하지만 ")) + pain_template(ctx, cat), "neg", cat)
    for extra in categories[1:]:
        draft.add(pain_template(ctx, extra), "neg", extra)


def compose_text(ctx: Context, tone: str, categories: list[str], length: str) -> Draft:
    """A review-like text of the given tone and length (short | medium | long)."""
    rng = ctx.rng
    draft = Draft(ctx)
    mood = {"praise": "pos", "neutral": "neu"}.get(tone, "neg")
    if tone == "praise":
        if length == "short":
            draft.add(rng.choice(PRAISE.short), "pos")
        else:
            for _ in range(rng.randint(1, 2) if length == "medium" else rng.randint(2, 4)):
                draft.add(praise_template(ctx), "pos")
    elif tone == "neutral":
        own = NEUTRAL.by_kind.get(ctx.product.kind, ())
        if length == "short":
            draft.add(ctx.pick(NEUTRAL.short), "neu")
        else:
            draft.add(ctx.pick(NEUTRAL.statements + own), "neu")
            pool = NEUTRAL.questions if rng.random() < 0.4 else NEUTRAL.short + NEUTRAL.statements + own
            for _ in range(1 if length == "medium" else rng.randint(1, 3)):
                draft.add(ctx.pick(pool), "neu")
    elif tone == "mixed":
        _add_mixed(draft, categories)
    elif length == "short":
        cat = categories[0]
        if rng.random() < 0.5:
            draft.add(rng.choice(PAINS[cat].short), "neg", cat)
        else:
            draft.add(pain_template(ctx, cat), "neg", cat)
    else:
        count = rng.randint(1, 2) if length == "medium" else rng.randint(2, 4)
        _add_complaints(draft, categories, max(count, len(categories)))
    closer_p = {"short": 0.0, "medium": 0.35, "long": 0.8}[length]
    if rng.random() < closer_p:
        draft.add(ctx.pick(FRAMING.closers[tone]), mood)
    _maybe_lead_in(draft, tone, categories, {"short": 0.0, "medium": 0.3, "long": 0.9}[length])
    if length != "short" and mood in FRAMING.interjections and rng.random() < 0.18:
        draft.parts.insert(0, rng.choice(FRAMING.interjections[mood]))
    return draft


def event_draft(ctx: Context, tone: str, length: str, pool: Sequence[tuple[str, str]]) -> Draft:
    """A complaint (or mixed) text built from an event's (category, sentence) pairs."""
    rng = ctx.rng
    draft = Draft(ctx)
    cat, template = rng.choice(pool)
    if tone == "mixed":
        clause = praise_clause(ctx, "delivery" if cat == "waiting" else cat)
        draft.add(f"{clause} {template}", "neg", cat)
    else:
        draft.add(template, "neg", cat)
        if length != "short":
            cat2, template2 = rng.choice(pool)
            if template2 != template:
                draft.add(template2, "neg", cat2)
        if cat in ("delivery", "waiting"):
            _maybe_lead_in(draft, tone, [cat], 0.0 if length == "short" else 0.3)
    if length == "long" or rng.random() < 0.3:
        draft.add(ctx.pick(FRAMING.closers["complaint"]), "neg")
    return draft

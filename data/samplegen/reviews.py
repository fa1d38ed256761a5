"""One product, store or app review: its text, star rating and ground truth."""

from __future__ import annotations

import random
from datetime import datetime

from .records import Truth
from .tables import APP, FRAMING, MIXES, PRODUCTS, SPIKE_SENTENCES, STORES, UPDATE_SENTENCES
from .text import Context, choose_categories, compose_text, event_draft, weighted

# Stars by tone: (values, weights).
_STARS = {
    "praise": ((5, 4, 3), (74, 24, 2)),
    "neutral": ((3, 4, 2, 5), (52, 30, 12, 6)),
    "mixed": ((3, 4, 2), (48, 32, 20)),
    "complaint": ((1, 2, 3), (62, 33, 5)),
}


def _stars(rng: random.Random, tone: str) -> int:
    """A star rating consistent with the tone, with a little noise."""
    if tone == "complaint" and rng.random() < 0.03:
        return 5  # a complaint with five stars happens
    values, weights = _STARS[tone]
    return rng.choices(values, weights=weights)[0]


def make_review(rng: random.Random, when: datetime, event: str | None) -> tuple[str, int, str, Truth]:
    """(product_name, stars, review_text, truth) for one review."""
    if event == "app_update":
        product = APP
    else:
        roll = rng.random()
        product = APP if roll < 0.08 else rng.choice(STORES) if roll < 0.15 else rng.choice(PRODUCTS)
    ctx = Context.new(rng, when.date(), product)
    length = rng.choices(("short", "medium", "long"), weights=(28, 52, 20))[0]
    if event == "delivery_spike":
        tone = "complaint" if rng.random() < 0.8 else "mixed"
        draft = event_draft(ctx, tone, length, SPIKE_SENTENCES)
    elif event == "app_update":
        tone = "complaint" if rng.random() < 0.8 else "mixed"
        draft = event_draft(ctx, tone, length, tuple(("reliability", t) for t in UPDATE_SENTENCES))
    else:
        tone = weighted(rng, MIXES.tones)
        weights = MIXES.app_review_categories if product is APP else MIXES.review_categories
        draft = compose_text(ctx, tone, choose_categories(rng, weights), length)
    stars = _stars(rng, tone)
    if length != "short" and rng.random() < 0.12:
        remarks = FRAMING.star_remarks
        if stars == 5 and tone == "praise":
            draft.add(rng.choice(remarks["five"]), "pos")
        elif stars == 4 and tone in ("mixed", "praise"):
            draft.add(rng.choice(remarks["four"]), "neg" if tone == "mixed" else "pos")
        elif stars == 1:
            draft.add(rng.choice(remarks["one"]), "neg")
    if rng.random() < 0.05:
        draft.add_pii({"praise": "pos"}.get(tone, "neg"))
    text = draft.text(newline_p=0.25 if length == "long" else 0.04)
    return product.name, stars, text, draft.truth(tone, event)

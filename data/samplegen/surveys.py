"""One NPS survey response: score, reason, improvement wish and ground truth."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime

from .records import Truth
from .tables import FRAMING, MIXES, NEUTRAL, PAINS, PRAISE, SERVICE, SPIKE_SENTENCES, UPDATE_SENTENCES
from .text import Context, Draft, choose_categories, compose_text, event_draft, praise_template, weighted


def _nps(rng: random.Random, tone: str) -> int:
    """An NPS score consistent with the tone: detractors complain, passives are mixed, promoters praise."""
    if tone == "praise":
        return rng.choices((10, 9, 8), weights=(50, 44, 6))[0]
    if tone == "neutral":
        return rng.choices((7, 8, 6, 5), weights=(44, 34, 14, 8))[0]
    if tone == "mixed":
        return rng.choices((7, 8, 6), weights=(48, 34, 18))[0]
    if rng.random() < 0.03:
        return 7
    return rng.choices(range(7), weights=(10, 6, 8, 10, 9, 9, 8))[0]


def _reason(ctx: Context, tone: str, categories: list[str], length: str) -> Draft:
    """The answer to "why this score" for an item outside the planted events."""
    rng = ctx.rng
    if tone == "praise":
        reason = Draft(ctx)
        for _ in range(1 if length == "short" else rng.randint(1, 3)):
            reason.add(praise_template(ctx, service=True), "pos")
        if length == "short" and rng.random() < 0.3:
            reason = Draft(ctx)
            reason.add(ctx.pick(PRAISE.short), "pos")
        return reason
    if tone == "neutral":
        reason = Draft(ctx)
        reason.add(ctx.pick(NEUTRAL.reasons + NEUTRAL.short), "neu")
        if length != "short":
            reason.add(ctx.pick(NEUTRAL.reasons), "neu")
        return reason
    return compose_text(ctx, tone, categories, length)


def _improve(ctx: Context, tone: str, categories: list[str]) -> Draft:
    """The answer to "what should improve" (empty for some respondents)."""
    rng = ctx.rng
    improve = Draft(ctx)
    roll = rng.random()
    survey_weights = MIXES.survey_categories
    if tone == "praise":
        if roll < 0.3:
            improve.add(rng.choice(FRAMING.improve_none), "pos")
        elif roll < 0.6:
            cat = rng.choices(list(survey_weights), weights=list(survey_weights.values()))[0]
            improve.add(ctx.pick(PAINS[cat].suggestions), "neu", cat)
    elif tone == "neutral":
        if roll < 0.55:
            cat = rng.choices(list(survey_weights), weights=list(survey_weights.values()))[0]
            improve.add(ctx.pick(PAINS[cat].suggestions), "neu", cat)
        elif roll < 0.75:
            improve.add(rng.choice(FRAMING.improve_none), "neu")
    elif roll < 0.72:
        for cat in categories[: rng.randint(1, 2)]:
            improve.add(ctx.pick(PAINS[cat].suggestions), "neg", cat)
    elif roll < 0.9:
        improve.add(rng.choice(FRAMING.improve_angry), "neg")
    return improve


def make_survey(rng: random.Random, when: datetime, event: str | None) -> tuple[int, str, str | None, Truth]:
    """(nps, q_reason, q_improve, truth) for one survey response."""
    ctx = Context.new(rng, when.date(), SERVICE)
    length = rng.choices(("short", "medium", "long"), weights=(40, 46, 14))[0]
    if event == "delivery_spike":
        tone = "complaint"
        reason = event_draft(ctx, tone, length, SPIKE_SENTENCES)
        categories = [reason.pains[0]]
    elif event == "app_update":
        tone = "complaint" if rng.random() < 0.85 else "mixed"
        reason = event_draft(ctx, tone, length, tuple(("reliability", t) for t in UPDATE_SENTENCES))
        categories = ["reliability"]
    else:
        tone = weighted(rng, MIXES.tones)
        categories = choose_categories(rng, MIXES.survey_categories)
        reason = _reason(ctx, tone, categories, length)
    if rng.random() < 0.05:
        reason.add_pii({"praise": "pos"}.get(tone, "neg"))

    improve = _improve(ctx, tone, categories)
    q_improve = improve.text() if improve.parts else rng.choice((None, None, ""))
    truth = reason.truth(tone, event)
    extra_tp = improve.truth(tone).touchpoints if improve.parts else ()
    truth = replace(
        truth,
        pains=truth.pains + tuple(improve.pains),
        touchpoints=tuple(dict.fromkeys(truth.touchpoints + extra_tp)),
    )
    return _nps(rng, tone), reason.text(newline_p=0.05), q_improve, truth

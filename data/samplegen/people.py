"""Invented personal data (names, phones, e-mail, RRN, cards, accounts, addresses) for masking tests."""

from __future__ import annotations

import random

from .hangul import SLOT, with_josa
from .tables import PEOPLE


def fake_personal(rng: random.Random) -> dict[str, str]:
    """One invented person's phone, e-mail, RRN, card, bank account and address."""
    a, b = rng.randint(2000, 9999), rng.randint(1000, 9999)
    rrn = f"{rng.randint(60, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}-{rng.randint(1, 2)}"
    bank = rng.choice(PEOPLE.banks)
    account = {
        "신한": f"110-{rng.randint(100, 999)}-{rng.randint(100000, 999999)}",
        "국민": f"{rng.randint(100000, 999999)}-{rng.randint(10, 99)}-{rng.randint(100000, 999999)}",
        "우리": f"1002-{rng.randint(100, 999)}-{rng.randint(100000, 999999)}",
        "농협": f"{rng.randint(300, 399)}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
        f"-{rng.randint(10, 99)}",
        "카카오뱅크": f"3333-{rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}",
        "하나": f"{rng.randint(100, 999)}-{rng.randint(100000, 999999)}-{rng.randint(10000, 99999)}",
    }[bank]
    address = f"{rng.choice(PEOPLE.roads)} {rng.randint(1, 450)}"
    if rng.random() < 0.6:
        address += f", {rng.randint(101, 115)}동 {rng.randint(1, 25)}0{rng.randint(1, 6)}호"
    return {
        "phone": rng.choice((f"010-{a}-{b}", f"010{a}{b}", f"010 {a} {b}")),
        "name": random_name(rng),
        "email": f"{rng.choice(PEOPLE.email_users)}{rng.randint(1, 99)}@{rng.choice(PEOPLE.email_domains)}",
        "rrn": rrn + f"{rng.randint(0, 999999):06d}",
        "card": "-".join(f"{rng.randint(0, 9999):04d}" for _ in range(4)),
        "bank": bank,
        "account": account,
        "address": address,
    }


def random_name(rng: random.Random) -> str:
    """An invented full name (surname + given name)."""
    return rng.choice(PEOPLE.surnames) + rng.choice(PEOPLE.given_names)


def fill_personal(template: str, person: dict[str, str]) -> str:
    """Fill a template's personal-data slots (with particles)."""
    return SLOT.sub(lambda m: with_josa(person[m[1]], m[2]), template)


def pii_sentence(rng: random.Random, mood: str) -> str:
    """A sentence carrying one invented piece of personal data (templates of the mood or of any)."""
    pool = [t for m, t in PEOPLE.pii_templates if m in ("any", mood)]
    return fill_personal(rng.choice(pool), fake_personal(rng))

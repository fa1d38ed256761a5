"""Products that hurt more than the rest of their source: where a merchandiser or a store manager
should look first.

A product's share of records with pain in a month (reviews, survey responses, conversations: a chat's
turns or a response's answers are one customer, not several trials) is tested against the share of
the other products of the same source that month (one-sided binomial tail: how improbable this many
records with pain would be at the others' rate). A shop reviews dozens of products, so a month tests
dozens of them and a p ≤ 0.05 cut would name two or three by chance every month: the p-values of a
source are turned into Benjamini–Hochberg q-values, and a product is named when its q-value is at
most `MAX_Q_VALUE`. Those named are ordered by their excess, the records with pain beyond what the
others' rate expects, so a popular product slightly worse than the rest can come before a rare one
much worse.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from scipy.stats import binom, false_discovery_control
from sqlalchemy import Engine, bindparam, text

from pipeline.warehouse.schema import monthly_through
from pipeline.window import Window

MAX_Q_VALUE = 0.05
SHOWN = 5

_PRODUCT_MONTHS = text(f"""
    SELECT month, source, product, records, records_with_pain, avg_rating, top_category
    FROM ({monthly_through("v_product_pain_monthly")}) AS products
    WHERE month = :month AND source IN :sources
    ORDER BY source, product""").bindparams(bindparam("sources", expanding=True))


def worse_than_the_rest(products: list[dict]) -> list[dict]:
    """The products of one source and month (records, records_with_pain) with the others' share, the
    expected and excess records with pain at that share, p and q; those without others to compare with
    (the source's only product) are left out."""
    total_records = sum(int(p["records"]) for p in products)
    total_pain = sum(int(p["records_with_pain"]) for p in products)
    tested = []
    for product in products:
        records, pain = int(product["records"]), int(product["records_with_pain"])
        rest_records = total_records - records
        if not rest_records:
            continue
        # Others without any pain: half a record's worth, or any pain at all would be "impossible".
        rest_share = max(total_pain - pain, 0.5) / rest_records
        expected = records * rest_share
        tested.append({**product, "records": records, "records_with_pain": pain, "rest_share": rest_share,
                       "expected": expected, "excess": pain - expected,
                       "p_value": float(binom.sf(pain - 1, records, rest_share))})
    if tested:
        q_values = false_discovery_control(np.array([row["p_value"] for row in tested]), method="bh")
        for row, q_value in zip(tested, q_values, strict=True):
            row["q_value"] = float(q_value)
    return tested


def stands_out(row: dict) -> bool:
    """A product of `worse_than_the_rest` the story names: worse than the others, beyond chance."""
    return row["excess"] > 0 and row["q_value"] <= MAX_Q_VALUE


def product_hotspots(engine: Engine, window: Window, sources: list[str], limit: int = SHOWN) -> list[dict]:
    """The products with more pain than the rest of their source in each month the window touches
    (the month it ends in up to its last day, never what a later run wrote after it), the latest month
    first, then the largest excess; at most `limit` a month."""
    named = []
    with engine.connect() as conn:
        for month in window.months():
            by_source: dict[str, list[dict]] = defaultdict(list)
            rows = conn.execute(_PRODUCT_MONTHS, {"month": month, "sources": sources, "through": window.end})
            for row in rows.mappings():
                by_source[row["source"]].append(dict(row))
            found = [row for products in by_source.values() for row in worse_than_the_rest(products)
                     if stands_out(row)]
            named += sorted(found, key=lambda row: (-row["excess"], row["source"], row["product"]))[:limit]
    return named

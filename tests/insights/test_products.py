"""The statistics behind "products with more pain than the rest of their source" (no database)."""

import pytest

from pipeline.insights.products import stands_out, worse_than_the_rest


def products(**with_pain: tuple[int, int]) -> list[dict]:
    return [{"product": name, "records": records, "records_with_pain": pain}
            for name, (records, pain) in with_pain.items()]


def named(rows: list[dict]) -> list[str]:
    return [r["product"] for r in rows if stands_out(r)]


def test_a_product_is_judged_against_the_others_of_its_source_not_against_itself():
    rows = {r["product"]: r for r in worse_than_the_rest(products(a=(10, 8), b=(30, 6), c=(10, 2)))}
    assert rows["a"]["rest_share"] == pytest.approx(8 / 40)
    assert rows["a"]["expected"] == pytest.approx(2.0) and rows["a"]["excess"] == pytest.approx(6.0)
    assert rows["b"]["rest_share"] == pytest.approx(10 / 20)
    assert rows["a"]["p_value"] < 0.001 < rows["c"]["p_value"]


def test_one_unlucky_product_among_forty_is_not_named_though_its_p_is_below_005():
    # 8 of 20 where the others have 4 of 20: tested alone it would be named.
    rows = worse_than_the_rest(products(unlucky=(20, 8), **{f"p{i}": (20, 4) for i in range(39)}))
    assert [r["product"] for r in rows if r["p_value"] <= 0.05] == ["unlucky"]
    assert named(rows) == []


def test_a_product_much_worse_than_many_others_is_named_among_them():
    rows = worse_than_the_rest(products(bad=(20, 15), **{f"p{i}": (20, 4) for i in range(30)}))
    assert named(rows) == ["bad"]


def test_a_source_with_one_product_has_nothing_to_compare_with():
    assert worse_than_the_rest(products(only=(10, 9))) == []


def test_others_without_any_pain_do_not_make_every_complaint_impossible():
    rows = {r["product"]: r for r in worse_than_the_rest(products(a=(5, 1), b=(50, 0)))}
    assert rows["a"]["rest_share"] == pytest.approx(0.5 / 50)
    assert 0 < rows["a"]["p_value"] < 1

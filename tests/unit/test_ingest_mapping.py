"""A mapping file turns any catalogue's columns into product drafts, without code."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ingest.mapping import Mapping, draft_from_record


def _mapping(**kw: object) -> Mapping:
    base: dict[str, object] = {"columns": {"name": "Name", "brand": "Brand", "price": "Price", "ingredients": "Ingredients",
                                           "category": "Label"},
                               "skin_type_flags": {"oily": "Oily", "dry": "Dry"}, "sku_prefix": "SEPH-"}
    base.update(kw)
    return Mapping.model_validate(base)


def test_columns_and_skin_type_flags_map_to_adraft_from_record() -> None:
    row = {"Name": "Ultra Facial Cream", "Brand": "KIEHL'S", "Price": "29", "Ingredients": "Aqua, Glycerin",
           "Label": "Moisturizer", "Oily": "1", "Dry": "0"}
    d = draft_from_record(row, 2, _mapping())
    assert (d.name, d.brand, d.price, d.inci, d.category) == ("Ultra Facial Cream", "KIEHL'S", 29.0, "Aqua, Glycerin", "moisturiser")
    assert d.tags == ["oily"]
    assert d.sku == "SEPH-kiehl-s-ultra-facial-cream"       # no SKU column: stable, made from brand and name


def test_nested_json_keys_and_list_columns() -> None:
    m = _mapping(columns={"sku": "sku", "name": "name", "brand": "brand.name", "price": "regular_price",
                          "ingredients": "meta.inci", "concerns": "concerns", "stock": "stock_quantity"})
    d = draft_from_record({"sku": "WC-1", "name": "Cica", "brand": {"name": "Verdant"}, "regular_price": "26,90",
                "meta": {"inci": "Aqua"}, "concerns": ["redness", "sensitivity"], "stock_quantity": 3}, 1, m)
    assert (d.sku, d.brand, d.price, d.stock, d.inci) == ("WC-1", "Verdant", 26.9, 3, "Aqua")
    assert d.tags == ["redness", "sensitivity"]


@pytest.mark.parametrize("price", ["n/a", True, "-3"])
def test_a_bad_price_names_the_column(price: object) -> None:
    with pytest.raises(ValueError, match="'Price'"):
        draft_from_record({"Name": "X", "Price": price, "Ingredients": "Aqua"}, 5, _mapping())


def test_a_mapping_without_name_or_ingredients_or_with_unknown_fields_is_refused() -> None:
    with pytest.raises(ValidationError, match="columns.ingredients is required"):
        Mapping.model_validate({"columns": {"name": "N", "price": "P"}})
    with pytest.raises(ValidationError, match="unknown field 'colour'"):
        Mapping.model_validate({"columns": {"name": "N", "price": "P", "ingredients": "I", "colour": "C"}})

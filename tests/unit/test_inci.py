"""INCI parsing: each way real lists are printed, and the rules that keep names whole."""

from __future__ import annotations

import pytest

from ingest.inci import InciMatcher, extract_inci, parse_inci, split_inci

MATCHER = InciMatcher({
    "water": ["Aqua", "Water", "Eau"],
    "parfum": ["Parfum", "Fragrance"],
    "glycerin": ["Glycerin"],
    "niacinamide": ["Niacinamide"],
    "hexanediol": ["1,2-Hexanediol"],
    "cct": ["Caprylic/Capric Triglyceride"],
    "coco-caprylate": ["Coco-Caprylate"],
    "shea-butter": ["Butyrospermum Parkii Butter", "Shea Butter"],
    "titanium-dioxide": ["Titanium Dioxide", "CI 77891"],
    "tea-tree-oil": ["Melaleuca Alternifolia Leaf Oil", "Tea Tree"],
    "olive-oil": ["Olea Europaea Fruit Oil"],
})


def test_commas_inside_parentheses_do_not_split() -> None:
    assert split_inci("Aqua, Rosa Damascena (Rose, Damask) Flower Water, Glycerin") == [
        "Aqua", "Rosa Damascena (Rose, Damask) Flower Water", "Glycerin"]


def test_a_comma_between_digits_is_part_of_the_name() -> None:
    assert split_inci("Aqua, 1,2-Hexanediol, Glycerin") == ["Aqua", "1,2-Hexanediol", "Glycerin"]
    assert MATCHER.match("1,2-Hexanediol") == "hexanediol"


def test_aqua_water_eau_is_one_entry_resolved_through_its_synonyms() -> None:
    assert split_inci("Aqua/Water/Eau, Glycerin") == ["Aqua/Water/Eau", "Glycerin"]
    assert MATCHER.match("Aqua/Water/Eau") == "water"
    assert MATCHER.match("AQUA / WATER") == "water"
    assert MATCHER.match("Parfum/Fragrance") == "parfum"


def test_slashes_that_are_not_synonyms_stay_whole() -> None:
    assert MATCHER.match("Caprylic/Capric Triglyceride") == "cct"
    # one part is a known ingredient, but the whole is a different one: not resolved to the part
    assert MATCHER.match("Coco-Caprylate/Caprate") is None


def test_eu_dual_language_slash_resolves_through_the_known_half() -> None:
    assert MATCHER.match("Olea Europaea Fruit Oil / Olive Fruit Oil") == "olive-oil"


def test_percentages_are_read_and_removed_from_the_name() -> None:
    entries = parse_inci("Niacinamide 10%, Retinal (0.1%), Azelaic Acid\u00a010 %, Retinol 0,3%")
    assert [(e.name, e.percent) for e in entries] == [
        ("Niacinamide", 10.0), ("Retinal", 0.1), ("Azelaic Acid", 10.0), ("Retinol", 0.3)]


def test_may_contain_block_at_the_end_flags_its_entries() -> None:
    entries = parse_inci("Talc, Mica. May Contain (+/-): CI 77891, CI 77491.")
    assert [(e.name, e.may_contain) for e in entries] == [
        ("Talc", False), ("Mica", False), ("CI 77891", True), ("CI 77491", True)]


def test_bracketed_may_contain_block_ends_at_its_bracket() -> None:
    entries = parse_inci("Aqua, [+/- CI 77891 (Titanium Dioxide), CI 77499 (Iron Oxides)], Phenoxyethanol")
    assert [(e.name, e.may_contain) for e in entries] == [
        ("Aqua", False), ("CI 77891 (Titanium Dioxide)", True), ("CI 77499 (Iron Oxides)", True),
        ("Phenoxyethanol", False)]


def test_trailing_period_and_footnotes_are_not_ingredients() -> None:
    assert split_inci("Aloe Barbadensis Leaf Juice*, Glycerin, Tocopherol. *Certified organic") == [
        "Aloe Barbadensis Leaf Juice", "Glycerin", "Tocopherol"]


def test_line_breaks_inside_a_comma_list_are_spaces() -> None:
    assert split_inci("Aqua, Butyrospermum\nParkii Butter,\r\nGlycerin") == [
        "Aqua", "Butyrospermum Parkii Butter", "Glycerin"]


def test_one_ingredient_per_line_without_commas() -> None:
    assert split_inci("Squalane\nSimmondsia Chinensis (Jojoba) Seed Oil\nTocopherol") == [
        "Squalane", "Simmondsia Chinensis (Jojoba) Seed Oil", "Tocopherol"]


def test_periods_as_separators_when_there_are_no_commas() -> None:
    assert split_inci("AQUA. GLYCERIN. ZINC OXIDE. MINERAL OIL (PARAFFINUM LIQUIDUM).") == [
        "AQUA", "GLYCERIN", "ZINC OXIDE", "MINERAL OIL (PARAFFINUM LIQUIDUM)"]


def test_marketing_text_before_the_list_is_dropped() -> None:
    text = "Our bestselling serum, loved by 10,000 customers!\nKey ingredients: Niacinamide.\nIngredients: Aqua, Niacinamide"
    assert split_inci(text) == ["Aqua", "Niacinamide"]


def test_mixed_case_and_non_breaking_spaces_resolve() -> None:
    assert [MATCHER.match(e) for e in split_inci("AQUA,\u00a0glycerin, NiAcInAmIdE")] == ["water", "glycerin", "niacinamide"]


def test_trailing_parenthesis_is_an_alternative_name_but_a_middle_one_is_not() -> None:
    assert MATCHER.match("Titanium Dioxide (CI 77891)") == "titanium-dioxide"
    assert MATCHER.match("Butyrospermum Parkii (Shea Butter)") == "shea-butter"
    # "(Tea Tree)" names the plant of a leaf water, which is not tea tree oil
    assert MATCHER.match("Melaleuca Alternifolia (Tea Tree) Leaf Water") is None


def test_unknown_entries_are_returned_not_dropped() -> None:
    names = split_inci("Aqua, Ahnfeltiopsis Concinna Extract, Glycerin")
    assert names == ["Aqua", "Ahnfeltiopsis Concinna Extract", "Glycerin"]
    assert MATCHER.match(names[1]) is None


@pytest.mark.parametrize("html, expected", [
    ("<p>Soft cream.</p><p><strong>Ingredients:</strong> Aqua, Glycerin,<br>Niacinamide.</p><p>How to use: daily</p>",
     "Aqua, Glycerin,\nNiacinamide."),
    ("<p><b>Key ingredients:</b> Niacinamide</p><p><b>Full ingredients:</b> Aqua, Niacinamide</p>", "Aqua, Niacinamide"),
    ("<p>Ingrédients&nbsp;: Aqua, Glycerin</p>", "Aqua, Glycerin"),
    ("<p>A lovely cream with niacinamide.</p>", None),
])
def test_ingredient_list_is_found_inside_a_product_description(html: str, expected: str | None) -> None:
    assert extract_inci(html) == expected

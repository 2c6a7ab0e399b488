from graph.model import Ingredient
from ingest.knowledge import key_ingredients

ING = {i.id: i for i in [
    Ingredient(id="water", inci="Aqua", kind="functional"),
    Ingredient(id="glycerin", inci="Glycerin", kind="functional"),
    Ingredient(id="niacinamide", inci="Niacinamide"),
    Ingredient(id="retinol", inci="Retinol"),
    Ingredient(id="citric-acid", inci="Citric Acid", functions=["pH adjusting", "exfoliating"]),
    Ingredient(id="lactic-acid", inci="Lactic Acid", functions=["exfoliating", "pH adjusting"]),
    Ingredient(id="phenoxyethanol", inci="Phenoxyethanol", kind="functional", functions=["preservative"]),
    Ingredient(id="tocopherol", inci="Tocopherol"),
]}


def test_declared_actives_always_count() -> None:
    ids = ["water", "glycerin", "phenoxyethanol", "retinol"]
    assert key_ingredients(ids, {"retinol": 0.1}, ING) == ["retinol"]


def test_actives_below_the_one_percent_line_do_not_count() -> None:
    ids = ["water", "niacinamide", "glycerin", "phenoxyethanol", "tocopherol"]
    assert key_ingredients(ids, {}, ING) == ["niacinamide"]


def test_a_ph_adjusting_acid_counts_only_very_high_on_the_list() -> None:
    assert key_ingredients(["water", "glycerin", "niacinamide", "water", "citric-acid"], {}, ING) == ["niacinamide"]
    assert key_ingredients(["water", "lactic-acid", "glycerin"], {}, ING) == ["lactic-acid"]

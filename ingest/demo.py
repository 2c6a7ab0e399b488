"""Synthetic demo customers with two years of orders, and a scaled catalogue for benchmarks.

Deterministic: the output is a pure function of the bundle, the seed and the anchor date, so loading
the demo twice writes the same graph. Repurchase timing follows each product's size, dose and uses
per day, stretched by how diligently that customer uses it.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from graph.model import PREGNANCY_EXCLUDED, Avoidance, Customer, KnowledgeBundle, Order, OrderLine, Product

_FIRST = ("Ana", "Ben", "Chloé", "David", "Elif", "Finn", "Greta", "Hugo", "Inès", "Jonas", "Kira",
          "Luca", "Maya", "Nils", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara", "Umut", "Vera",
          "Wim", "Xenia", "Yusuf", "Zoe", "Amara", "Bao", "Carmen", "Dario", "Emma", "Farah")
_LAST = ("Keller", "Novak", "Rossi", "Dubois", "Jansen", "García", "Schmidt", "Kowalski", "Silva",
         "Nielsen", "Moreau", "Yilmaz", "Berg", "Fischer", "Costa", "Lindqvist", "Horvat", "Weber")
_COUNTRIES = (("Europe/Berlin", "+4915", "temperate"), ("Europe/Paris", "+336", "temperate"),
              ("Europe/Madrid", "+346", "hot-dry"), ("Europe/Stockholm", "+467", "cold"),
              ("Europe/Amsterdam", "+316", "temperate"), ("Europe/Rome", "+393", "hot-humid"))
_AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
#: Common contact allergens and avoided ingredients, as customers declare them.
_ALLERGENS = ("fragrance", "linalool", "limonene", "lanolin", "tea-tree-oil", "sweet-almond-oil",
              "propolis-extract", "methylisothiazolinone", "benzyl-alcohol", "cocamidopropyl-betaine")
_PREFERENCES = ("alcohol-denat", "coconut-oil", "mineral-oil", "dimethicone")
_CARRIERS = ("DHL", "DPD", "GLS", "PostNL", "Colissimo")


class _Catalogue:
    """Products a customer may buy, by category, cached per (skin type, pregnancy, avoidances)."""

    def __init__(self, products: list[Product], unsafe: set[str]) -> None:
        self.products = products
        self.unsafe = unsafe
        self._cache: dict[tuple[str | None, bool, frozenset[str]], dict[str, list[Product]]] = {}

    def fit(self, c: Customer) -> dict[str, list[Product]]:
        key = (c.skin_type, c.pregnancy != "none", frozenset(a.ingredient for a in c.avoids))
        if key not in self._cache:
            by_cat: dict[str, list[Product]] = {}
            for p in self.products:
                ings = set(p.ingredients)
                if key[2] & ings or (key[1] and self.unsafe & ings):
                    continue
                if p.skin_types and c.skin_type not in p.skin_types:
                    continue
                by_cat.setdefault(p.category, []).append(p)
            self._cache[key] = by_cat
        return self._cache[key]


def _routine(rng: random.Random, c: Customer, catalogue: _Catalogue) -> list[Product]:
    by_cat = catalogue.fit(c)
    picked = []
    for cat in ("cleanser", "moisturiser", "sunscreen", "serum", "treatment", "toner", "exfoliant", "eye-cream"):
        options = by_cat.get(cat)
        if not options or (cat not in ("cleanser", "moisturiser") and rng.random() > 0.45):
            continue
        if len(options) > 40:
            options = rng.sample(options, 40)
        weights = [1 + 2 * len(set(p.concerns) & set(c.concerns)) for p in options]
        picked.append(rng.choices(options, weights=weights)[0])
    return picked


def customers_and_orders(bundle: KnowledgeBundle, n: int, seed: int, anchor: date,
                         years: float = 2.0) -> tuple[list[Customer], list[Order]]:
    rng = random.Random(seed)
    products = [p for p in bundle.products if p.category not in ("body", "lip")] or bundle.products
    unsafe = {i.id for i in bundle.ingredients if i.pregnancy in PREGNANCY_EXCLUDED}
    catalogue = _Catalogue(products, unsafe)
    known = {i.id for i in bundle.ingredients}
    concerns = [c.id for c in bundle.concerns]
    skin_types = [s.id for s in bundle.skin_types]
    start = anchor - timedelta(days=int(365 * years))
    customers, orders = [], []
    for k in range(1, n + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        tz, prefix, climate = rng.choice(_COUNTRIES)
        cid = f"cus-{k:05d}"
        email = f"{cid}@demo.example-skinsage.com"
        phone = f"{prefix}{rng.randrange(10**7, 10**8)}"
        avoids = []
        if rng.random() < 0.12:
            avoids.append(Avoidance(ingredient=rng.choice([a for a in _ALLERGENS if a in known] or ["x"]),
                                    reason="allergy"))
        if rng.random() < 0.06:
            avoids.append(Avoidance(ingredient=rng.choice([a for a in _PREFERENCES if a in known] or ["x"]),
                                    reason="preference"))
        avoids = [a for a in avoids if a.ingredient in known]
        roll = rng.random()
        customer = Customer(
            id=cid, name=f"{first} {last}", email=email, phone=phone, skin_type=rng.choice(skin_types),
            concerns=rng.sample(concerns, k=rng.randint(1, 3)), avoids=avoids,
            pregnancy="pregnant" if roll < 0.04 else "breastfeeding" if roll < 0.07 else "none",
            age_band=rng.choice(_AGE_BANDS), climate=climate, timezone=tz,
            identities=[f"email:{email}", f"phone:{phone}"],
            consents=[c for c, p in (("email_marketing", 0.5), ("whatsapp", 0.35), ("sms", 0.2),
                                     ("photo_storage", 0.15)) if rng.random() < p])
        customers.append(customer)
        joined = start + timedelta(days=rng.randrange(0, int(365 * years * 0.85)))
        diligence = rng.uniform(0.8, 1.35)      # >1: uses less than the label dose, lasts longer
        churn_at = anchor if rng.random() > 0.25 else joined + timedelta(days=rng.randrange(60, 500))
        purchases: list[tuple[date, Product, int]] = []
        for p in _routine(rng, customer, catalogue):
            day = joined + timedelta(days=rng.randrange(0, 20))
            while day < min(anchor, churn_at):
                qty = 2 if rng.random() < 0.08 else 1
                purchases.append((day, p, qty))
                cycle = p.days_per_pack * qty * diligence * rng.uniform(0.9, 1.1)
                day += timedelta(days=max(7, round(cycle)))
        if customer.age_band not in ("18-24", "25-34", "35-44"):
            # pregnancy only in plausible age bands; corrected after the draws so the demo data stays put
            customer.pregnancy = "none"
        purchases.sort(key=lambda x: (x[0], x[1].sku))
        basket: list[tuple[date, Product, int]] = []
        seq = 0
        for item in purchases + [(date.max, products[0], 0)]:
            if basket and (item[0] - basket[0][0]).days > 6:
                seq += 1
                # the number encodes customer and sequence, so editing one customer never renumbers another
                orders.append(_order(rng, f"SS-{100000 + k * 1000 + seq}", cid, basket, anchor))
                basket = []
            basket.append(item)
    orders.sort(key=lambda o: (o.placed_at, o.id))
    return customers, orders


def _order(rng: random.Random, order_id: str, cid: str, basket: list[tuple[date, Product, int]],
           anchor: date) -> Order:
    placed = basket[-1][0]
    age = (anchor - placed).days
    roll = rng.random()
    status = ("paid" if age < 1 else "processing" if age < 3 else "shipped" if age < 7
              else "cancelled" if roll < 0.02 else "returned" if roll < 0.04 else "delivered")
    carrier = rng.choice(_CARRIERS) if status in ("shipped", "delivered", "returned") else None
    lines: dict[str, OrderLine] = {}
    for _, p, qty in basket:
        prev = lines.get(p.sku)
        lines[p.sku] = OrderLine(sku=p.sku, quantity=qty + (prev.quantity if prev else 0), unit_price=p.price)
    return Order(id=order_id, customer_id=cid, placed_at=placed, status=status,
                 carrier=carrier, tracking=f"{carrier[:2].upper()}{rng.randrange(10**9, 10**10)}" if carrier else None,
                 lines=list(lines.values()))


def scaled_products(bundle: KnowledgeBundle, n: int, seed: int = 7) -> list[Product]:
    """`n` products for load tests: the curated ones, then variants with the same INCI and new SKUs."""
    rng = random.Random(seed)
    out = list(bundle.products)
    k = 0
    while len(out) < n:
        base = bundle.products[k % len(bundle.products)]
        k += 1
        factor = rng.choice((0.5, 1.0, 2.0, 3.0))
        out.append(base.model_copy(update={
            "sku": f"{base.sku}-V{k:05d}", "name": f"{base.name} ({k})",
            "size": base.size.model_copy(update={"amount": base.size.amount * factor}),
            "price": round(base.price * (0.6 + 0.4 * factor), 2),
            "stock_on_hand": rng.randrange(0, 400)}))
    return out

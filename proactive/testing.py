"""Hand-written fakes for tests and the bench: the slice of the graph the proactive part reads."""

from __future__ import annotations

from graph.model import Customer, Order, Product
from graph.views import CustomerProfile, ProductDetail, ProductIngredient
from skinsage.errors import NotFound


class FakeCustomers:
    """`CustomerData` from plain lists (customers, their orders, products)."""

    def __init__(self, customers: list[Customer], orders: list[Order], products: list[Product]) -> None:
        self.customers = {c.id: c for c in customers}
        self.orders = orders
        self.products = {p.sku: p for p in products}

    def customer(self, customer_id: str, order_limit: int = 50) -> CustomerProfile:
        if customer_id not in self.customers:
            raise NotFound(f"no customer with id {customer_id!r}")
        mine = sorted((o for o in self.orders if o.customer_id == customer_id), key=lambda o: o.placed_at,
                      reverse=True)
        return CustomerProfile(customer=self.customers[customer_id], orders=mine[:order_limit])

    def product(self, sku: str) -> ProductDetail:
        if sku not in self.products:
            raise NotFound(f"no product with sku {sku!r}")
        p = self.products[sku]
        ings = [ProductIngredient(position=i, id=x, name=x.replace("-", " ").title(), inci=x, kind="active")
                for i, x in enumerate(p.ingredients or p.key_ingredients)]
        return ProductDetail(product=p, brand_name=p.brand, ingredients=ings)

    def customer_ids(self) -> list[str]:
        return sorted(self.customers)

    def add_order(self, order: Order) -> None:
        self.orders.append(order)

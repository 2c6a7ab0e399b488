"""Who the assistant is talking to: the verified customer's graph profile, overlaid with what they
told us in this conversation (kept in conversation state until confirmed and saved)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from graph.model import Customer


class Profile(BaseModel):
    customer_id: str | None = None
    name: str | None = None
    skin_type: str | None = None
    concerns: list[str] = []
    avoid: list[str] = []
    pregnancy: str = "none"
    email: str | None = None
    phone: str | None = None

    @property
    def pregnant_or_breastfeeding(self) -> bool:
        return self.pregnancy in ("pregnant", "breastfeeding")

    @property
    def first_name(self) -> str | None:
        return self.name.split()[0] if self.name else None


def effective_profile(customer: Customer | None, state: dict[str, Any]) -> Profile:
    p = Profile()
    if customer is not None:
        p = Profile(customer_id=customer.id, name=customer.name, skin_type=customer.skin_type,
                    concerns=list(customer.concerns), avoid=[a.ingredient for a in customer.avoids],
                    pregnancy=customer.pregnancy, email=customer.email, phone=customer.phone)
    told = state.get("profile") or {}
    if told.get("skin_type"):
        p.skin_type = told["skin_type"]
    if told.get("concerns"):
        p.concerns = list(dict.fromkeys([*told["concerns"], *p.concerns]))
    # allergies only ever add up: forgetting one is the dangerous direction
    p.avoid = list(dict.fromkeys([*p.avoid, *(told.get("avoid") or [])]))
    if told.get("pregnancy"):
        p.pregnancy = told["pregnancy"]
    return p

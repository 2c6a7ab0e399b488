"""Tools for products, orders, reminders and stock. Ownership and roles are checked here, in code."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from assistant.tools.base import ToolContext, ToolDenied, ToolResult, tool
from assistant.types import Citation, ProductCard
from commerce.catalogue import Candidate
from commerce.depletion import Purchase, estimate
from commerce.live import recommend_live, routine_live, shopper_from_orders
from commerce.recommend import Recommendation
from commerce.routine import ESSENTIAL, RoutineStep, step_of
from commerce.stock_outlook import StockOutlook
from graph.views import ProfileQuery
from skinsage.errors import NotFound

_NO_ORDER = ("I couldn't find an order with that number for those contact details. Please check the order "
             "number and the email or phone you ordered with.")


class RecommendArgs(BaseModel):
    concerns: list[str] = Field(default=[], max_length=5, description="skin concerns in the customer's words")
    skin_type: str | None = Field(default=None, max_length=40)
    category: str | None = Field(default=None, max_length=40, description="serum, cleanser, moisturiser, sunscreen ...")
    max_price: float | None = Field(default=None, gt=0, le=10000)
    ingredient: str | None = Field(default=None, max_length=100, description="an ingredient the product should contain")
    limit: int = Field(default=3, ge=1, le=6)


@tool("recommend_products", RecommendArgs)
def recommend_products(ctx: ToolContext, args: RecommendArgs) -> ToolResult:
    """Products for this customer's skin type and concerns, never containing what they avoid or, when
    pregnant or breastfeeding, anything flagged for pregnancy. Each comes with the reason from the graph."""
    p = ctx.profile
    skin_type, concerns = _skin_and_concerns(ctx, args.skin_type, args.concerns)
    contains = []
    if args.ingredient:
        hit = ctx.graph.resolve(args.ingredient, kinds=("ingredient",), limit=1)
        if not hit:
            raise NotFound(f"I don't know an ingredient called {args.ingredient!r}")
        contains = [hit[0].id]
    query = ProfileQuery(skin_type=skin_type, concerns=concerns, avoid=p.avoid, contains=contains,
                         pregnant_or_breastfeeding=p.pregnant_or_breastfeeding, max_price=args.max_price,
                         category=args.category, limit=args.limit * 4 + 4)
    shopper = shopper_from_orders(ctx.graph, p.customer_id, ctx.today, skin_type=skin_type, concerns=tuple(concerns),
                                  avoid=frozenset(p.avoid), pregnant_or_breastfeeding=p.pregnant_or_breastfeeding)
    model = ctx.purchases.get() if ctx.purchases is not None else None
    outlook = _stock_outlook(ctx)
    recs = recommend_live(ctx.graph, query, shopper, args.limit * 3, model=model, outlook=outlook)
    relaxed = False
    if not recs and concerns and args.category:
        # nothing of that kind targets the concern: the best of the kind for the skin type is still useful
        query = query.model_copy(update={"concerns": []})
        recs = recommend_live(ctx.graph, query, shopper, args.limit * 3, model=model, outlook=outlook)
        relaxed = bool(recs)
    # hard exclusions ran in commerce.exclusions on every candidate (allergens, pregnancy, routine
    # conflicts); the engine re-checks every card before a reply leaves, whatever planner proposed it
    kept = _diverse(recs, args.limit) if not args.category else recs[:args.limit]
    cards = [ProductCard(sku=r.sku, name=r.name, price=r.price, currency=ctx.currency,
                         url=r.candidate.url if r.candidate else None, image=r.candidate.image if r.candidate else None,
                         reason=r.explanation) for r in kept]
    cites = [Citation(kind="graph", label=_path_text(r), ref=f"product:{r.sku}") for r in kept
             if r.candidate and r.candidate.links]
    return ToolResult(
        data={"skin_type": skin_type, "concerns": concerns, "category": args.category, "max_price": args.max_price,
              "products": [{"sku": r.sku, "name": r.name, "price": r.price, "reason": r.explanation,
                            **({"substitute_for": r.substitute_for} if r.substitute_for else {}),
                            **({"low_stock": True} if r.low_stock else {}),
                            **({"advice": r.advice} if r.advice else {})} for r in kept],
              "avoid": p.avoid,
              "pregnancy_filter": p.pregnant_or_breastfeeding, "relaxed_concerns": relaxed},
        citations=cites, products=cards, summary=f"{len(cards)} products for {skin_type or 'any'} skin, {concerns}")


def _skin_and_concerns(ctx: ToolContext, skin_text: str | None, concern_texts: list[str]) -> tuple[str | None, list[str]]:
    """Graph ids for what the customer said, falling back to their profile."""
    concerns = [m.id for text in concern_texts for m in ctx.graph.resolve(text, kinds=("concern",), limit=1)]
    concerns = list(dict.fromkeys(concerns or ctx.profile.concerns))
    skin = skin_text and next(iter(ctx.graph.resolve(skin_text, kinds=("skin_type",), limit=1)), None)
    return (skin.id if skin else ctx.profile.skin_type), concerns


class RoutineArgs(BaseModel):
    concerns: list[str] = Field(default=[], max_length=5, description="skin concerns in the customer's words")
    skin_type: str | None = Field(default=None, max_length=40)
    budget: float | None = Field(default=None, gt=0, le=10000, description="most the whole routine may cost")


@tool("build_routine", RoutineArgs)
def build_routine(ctx: ToolContext, args: RoutineArgs) -> ToolResult:
    """A morning and evening skincare routine (cleanse, treat, moisturise, protect) for this customer's
    skin type and concerns, optionally within a total budget. Only products safe for them (allergens,
    pregnancy, their current routine); conflicting actives are split between morning and evening or
    onto alternate nights."""
    p = ctx.profile
    skin_type, concerns = _skin_and_concerns(ctx, args.skin_type, args.concerns)
    query = ProfileQuery(skin_type=skin_type, concerns=concerns, avoid=p.avoid,
                         pregnant_or_breastfeeding=p.pregnant_or_breastfeeding)
    shopper = shopper_from_orders(ctx.graph, p.customer_id, ctx.today, skin_type=skin_type, concerns=tuple(concerns),
                                  avoid=frozenset(p.avoid), pregnant_or_breastfeeding=p.pregnant_or_breastfeeding)
    model = ctx.purchases.get() if ctx.purchases is not None else None
    plan = routine_live(ctx.graph, query, shopper, args.budget, model=model, outlook=_stock_outlook(ctx))
    r = plan.routine
    names = {sku: rec.name for sku, rec in plan.picks.items()}

    def step(s: RoutineStep) -> dict[str, Any]:
        rec = plan.picks[s.sku]
        note = s.note
        for sku, name in names.items():
            note = note.replace(sku, name) if note else note
        return {"step": s.step, "sku": s.sku, "name": s.name, "price": s.price, "reason": rec.explanation,
                **({"note": note} if note else {}), **({"low_stock": True} if rec.low_stock else {})}

    chosen = list(dict.fromkeys([s.sku for s in r.am] + [s.sku for s in r.pm]))
    filled = {s.step for s in r.am + r.pm}
    cards = [ProductCard(sku=sku, name=names[sku], price=plan.picks[sku].price, currency=ctx.currency,
                         url=_candidate(plan.picks[sku]).url, image=_candidate(plan.picks[sku]).image,
                         reason=plan.picks[sku].explanation) for sku in chosen]
    cites = [Citation(kind="graph", label=_path_text(plan.picks[sku]), ref=f"product:{sku}") for sku in chosen
             if _candidate(plan.picks[sku]).links]
    cites += [Citation(kind="graph", label=f"Ingredient:{c.ingredient_a} -CONFLICTS_WITH({c.kind})-> "
                       f"Ingredient:{c.ingredient_b}") for c in plan.conflicts
              if c.product_a in chosen and c.product_b in chosen]
    return ToolResult(
        data={"skin_type": skin_type, "concerns": concerns, "budget": args.budget, "total": r.total,
              "am": [step(s) for s in r.am], "pm": [step(s) for s in r.pm],
              "alternate_nights": [{"a": names.get(a, a), "b": names.get(b, b)} for a, b in r.alternate_nights],
              "missing": [s for s in ESSENTIAL if s not in filled],
              "over_budget": bool(r.skipped) and any(step_of(plan.picks[sku].category) not in filled
                                                    for sku in r.skipped),
              "relaxed_concerns": plan.relaxed, "avoid": p.avoid, "pregnancy_filter": p.pregnant_or_breastfeeding},
        citations=cites, products=cards,
        summary=f"routine of {len(chosen)} products for {skin_type or 'any'} skin, {concerns}, total {r.total}")


def _candidate(r: Recommendation) -> Candidate:
    assert r.candidate is not None   # routine picks always carry their candidate
    return r.candidate


def _stock_outlook(ctx: ToolContext) -> StockOutlook | None:
    """The forecast-fed stock outlook fitted in the background next to the purchase model (None until
    the first forecast run finished: then only the in-stock rule applies)."""
    holder = getattr(ctx.purchases, "stock", None)
    return holder.get() if holder is not None else None


def _path_text(r: Recommendation) -> str:
    lk = r.candidate.links[0]  # type: ignore[union-attr]
    return f"Product:{r.sku} -CONTAINS-> Ingredient:{lk.ingredient} -ADDRESSES({lk.evidence})-> Concern:{lk.concern}"


def _diverse(matches: list[Recommendation], limit: int) -> list[Recommendation]:
    """Best match per category first (a serum, a moisturiser, an SPF), then the rest by score."""
    firsts: list[Recommendation] = []
    rest: list[Recommendation] = []
    seen: set[str] = set()
    for m in matches:
        (rest if m.category in seen else firsts).append(m)
        seen.add(m.category)
    return (firsts + rest)[:limit]


def _digits(s: str | None) -> str:
    return re.sub(r"\D", "", s or "")[-9:]


class OrderArgs(BaseModel):
    order_id: str | None = Field(default=None, max_length=40, description="order number, e.g. SS-100245")
    email: str | None = Field(default=None, max_length=200, description="for guests: the email used to order")
    phone: str | None = Field(default=None, max_length=40, description="for guests: the phone used to order")


@tool("lookup_order", OrderArgs)
def lookup_order(ctx: ToolContext, args: OrderArgs) -> ToolResult:
    """Order status, items and tracking, for the verified customer who owns it (or a guest who gives the
    order number with the email or phone it was placed with)."""
    me = ctx.verified_customer
    if args.order_id is None:
        if me is None:
            raise ToolDenied("Please give me your order number and the email or phone you ordered with.")
        orders = ctx.graph.customer(me, order_limit=3).orders
        if not orders:
            raise NotFound("I can't see any orders on your account yet.")
        view_order = orders[0]
    else:
        oid = args.order_id.strip().upper()
        oid = oid if oid.startswith("SS-") else f"SS-{oid.removeprefix('SS').lstrip('-# ')}"
        try:
            view = ctx.graph.order(oid)
        except NotFound:
            raise NotFound(_NO_ORDER) from None
        owner_ok = me is not None and view.order.customer_id == me
        guest_ok = (args.email and view.customer_email and args.email.strip().lower() == view.customer_email.lower()) or (
            args.phone and view.customer_phone and _digits(args.phone) == _digits(view.customer_phone))
        if not (owner_ok or guest_ok):
            # same words as "no such order": an unverified caller learns nothing about other people's orders
            raise ToolDenied(_NO_ORDER)
        view_order = view.order
    names = {line.sku: ctx.graph.product(line.sku).product.name for line in view_order.lines}
    data = {"order_id": view_order.id, "status": view_order.status, "placed_at": view_order.placed_at.isoformat(),
            "carrier": view_order.carrier, "tracking": view_order.tracking, "total": view_order.total,
            "items": [{"name": names[line.sku], "quantity": line.quantity} for line in view_order.lines]}
    return ToolResult(data=data, citations=[Citation(kind="order", label=f"Order {view_order.id}", ref=view_order.id)],
                      summary=f"order {view_order.id}: {view_order.status}")


class ReminderArgs(BaseModel):
    product: str | None = Field(default=None, max_length=200, description="the product to restock, by name or SKU")
    days_before: int | None = Field(default=None, ge=0, le=60)


def _product_for(ctx: ToolContext, text: str | None, me: str) -> str:
    if text:
        hits = ctx.graph.find_products(text, limit=1)
        if hits:
            return hits[0].id
    orders = ctx.graph.customer(me, order_limit=20).orders
    bought = [line.sku for o in orders if o.status not in ("cancelled", "returned") for line in o.lines]
    wanted = (text or "").lower()
    for sku in bought:   # "my serum": the most recent purchase of that kind
        prod = ctx.graph.product(sku).product
        if not wanted or prod.category in wanted or wanted.rstrip("s") in prod.name.lower():
            return sku
    raise NotFound("Which product should I remind you about?")


@tool("set_reminder", ReminderArgs)
def set_reminder(ctx: ToolContext, args: ReminderArgs) -> ToolResult:
    """Remind the customer before a product runs out, from its size, dose and their own repurchase rhythm."""
    me = ctx.verified_customer
    if me is None:
        raise ToolDenied("I can set restock reminders once you're signed in or have linked this chat to your account.")
    sku = _product_for(ctx, args.product, me)
    prod = ctx.graph.product(sku).product
    orders = ctx.graph.customer(me, order_limit=100).orders
    buys = [Purchase(o.placed_at, line.quantity) for o in orders if o.status not in ("cancelled", "returned")
            for line in o.lines if line.sku == sku]
    dep = estimate(buys or [Purchase(ctx.today)], prod.days_per_pack)
    before = ctx.reminder_days_before if args.days_before is None else args.days_before
    due = max(ctx.today, dep.reminder_day(before))
    r = ctx.reminders.upsert(me, sku, prod.name, due, dep.runs_out)
    return ToolResult(
        data={"reminder_id": r.id, "product": prod.name, "due": due.isoformat(), "runs_out": dep.runs_out.isoformat(),
              "days_per_pack": dep.days_per_pack, "label_days": round(dep.days_per_pack_label, 1),
              "cycles_observed": dep.cycles_observed, "bought_before": bool(buys)},
        citations=[Citation(kind="graph", label=f"Product:{sku} size {prod.size.amount:g}{prod.size.unit}, "
                            f"{prod.dose_per_use.amount:g}{prod.dose_per_use.unit} x {prod.uses_per_day:g}/day")],
        summary=f"reminder {r.id} for {sku} on {due}")


class NoArgs(BaseModel):
    pass


@tool("list_reminders", NoArgs)
def list_reminders(ctx: ToolContext, args: NoArgs) -> ToolResult:
    """The customer's active restock reminders."""
    me = ctx.verified_customer
    if me is None:
        raise ToolDenied("I can show reminders once you're signed in or have linked this chat to your account.")
    items = [{"id": r.id, "product": r.product_name, "due": r.due.isoformat()} for r in ctx.reminders.active(me)]
    return ToolResult(data={"reminders": items}, summary=f"{len(items)} active reminders")


class CancelArgs(BaseModel):
    reminder: str | None = Field(default=None, max_length=200, description="reminder id or product name")


@tool("cancel_reminder", CancelArgs)
def cancel_reminder(ctx: ToolContext, args: CancelArgs) -> ToolResult:
    """Cancel a restock reminder by its id or product."""
    me = ctx.verified_customer
    if me is None:
        raise ToolDenied("I can manage reminders once you're signed in or have linked this chat to your account.")
    active = ctx.reminders.active(me)
    text = (args.reminder or "").lower()
    target = next((r for r in active if r.id == text or (text and (text in r.product_name.lower()
                   or any(w in r.product_name.lower() for w in text.split() if len(w) > 3)))), None)
    if target is None and len(active) == 1 and not text:
        target = active[0]
    if target is None:
        raise NotFound("I couldn't find that reminder." if active else "You have no active reminders.")
    ctx.reminders.cancel(me, target.id)
    return ToolResult(data={"cancelled": target.product_name}, summary=f"cancelled {target.id}")


class StockArgs(BaseModel):
    product: str = Field(min_length=1, max_length=200)
    service_level: float | None = Field(default=None, gt=0.5, lt=0.999,
                                        description="cycle service level for safety stock; default from settings")


_METHOD_WORDS = {"ses": "exponential smoothing", "tsb": "intermittent-demand (TSB) model", "theta": "Theta model",
                 "seasonal_naive": "same weekday last week", "no_history": "no sales history",
                 "sma_8w": "average of the last 8 weeks", "sma_13w": "average of the last 13 weeks",
                 "sma_26w": "average of the last 26 weeks"}


@tool("stock_forecast", StockArgs, staff_only=True)
def stock_forecast(ctx: ToolContext, args: StockArgs) -> ToolResult:
    """Staff only: days of cover, forecast demand for 30/60/90 days with intervals, reorder point and
    suggested order quantity for a product, from the model its own sales backtests chose."""
    from commerce.forecast_service import forecast_product
    from skinsage.settings import get_settings

    settings = get_settings()
    if args.service_level is not None:
        settings = settings.model_copy(update={"forecast_service_level": args.service_level})
    row = forecast_product(ctx.graph, settings, ctx.today, args.product)
    data = row.model_dump() | {"model": row.method, "method": _METHOD_WORDS.get(row.method, row.method) + (
        f", chosen by backtest over {row.history_days} days of sales" if row.backtest_mase is not None else "")}
    return ToolResult(data=data, citations=[Citation(
        kind="graph", label=f"Product:{row.sku} sales, last {settings.forecast_history_days} days")],
        summary=f"{row.sku}: {row.days_of_cover} days of cover ({row.method})")

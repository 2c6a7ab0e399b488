"""Tools about the person: their profile, their photo, and getting them a human."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from assistant.tools.base import ToolContext, ToolResult, tool
from assistant.types import Citation
from skinsage.errors import InvalidInput, NotFound


class ProfileArgs(BaseModel):
    skin_type: str | None = Field(default=None, max_length=40)
    concerns: list[str] = Field(default=[], max_length=6)
    allergies: list[str] = Field(default=[], max_length=10, description="ingredients the customer reacts to or avoids")
    pregnancy: Literal["none", "pregnant", "breastfeeding"] | None = None
    confirmed: bool = Field(default=False, description="true only after the customer said yes to saving these changes")


@tool("update_profile", ProfileArgs)
def update_profile(ctx: ToolContext, args: ProfileArgs) -> ToolResult:
    """Record the customer's skin type, concerns, allergies or pregnancy. This conversation uses them at once;
    they are saved to the account only after the customer confirms."""
    changes: dict[str, object] = {}
    unknown: list[str] = []
    if args.skin_type:
        hit = ctx.graph.resolve(args.skin_type, kinds=("skin_type",), limit=1)
        (changes.__setitem__("skin_type", hit[0].id) if hit else unknown.append(args.skin_type))
    concerns = []
    for text in args.concerns:
        hit = ctx.graph.resolve(text, kinds=("concern",), limit=1)
        (concerns.append(hit[0].id) if hit else unknown.append(text))
    if concerns:
        changes["concerns"] = concerns
    avoid = []
    for text in args.allergies:
        hit = ctx.graph.resolve(text, kinds=("ingredient",), limit=1)
        (avoid.append(hit[0].id) if hit and hit[0].score >= 0.8 else unknown.append(text))
    if avoid:
        changes["avoid"] = avoid
    if args.pregnancy:
        changes["pregnancy"] = args.pregnancy
    if not changes:
        raise InvalidInput("nothing I could record" + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    saved = False
    if args.confirmed and ctx.verified_customer:
        from graph.model import Avoidance

        cust = ctx.graph.customer(ctx.verified_customer, order_limit=1).customer
        if "skin_type" in changes:
            cust.skin_type = str(changes["skin_type"])
        if "concerns" in changes:
            cust.concerns = list(dict.fromkeys([*concerns, *cust.concerns]))
        if "avoid" in changes:
            have = {a.ingredient for a in cust.avoids}
            cust.avoids += [Avoidance(ingredient=i, reason="allergy") for i in avoid if i not in have]
        if "pregnancy" in changes:
            cust.pregnancy = args.pregnancy  # type: ignore[assignment]
        ctx.graph.update_customer(cust)
        saved = True
    return ToolResult(data={"changes": changes, "saved_to_account": saved, "unknown": unknown,
                            "can_save": ctx.verified_customer is not None},
                      profile_changes=changes, summary=f"profile {'saved' if saved else 'noted'}: {sorted(changes)}",
                      citations=[Citation(kind="profile", label="your profile")] if saved else [])


class HandoffArgs(BaseModel):
    reason: str = Field(min_length=2, max_length=300)


@tool("handoff_to_human", HandoffArgs)
def handoff_to_human(ctx: ToolContext, args: HandoffArgs) -> ToolResult:
    """Pass the conversation to a person on the support team, with the reason."""
    return ToolResult(data={"reason": args.reason}, handoff_reason=args.reason, summary=f"handoff: {args.reason}")


class PhotoArgs(BaseModel):
    index: int = Field(default=0, ge=0, le=5, description="which attached photo")


@tool("analyze_skin_photo", PhotoArgs)
def analyze_skin_photo(ctx: ToolContext, args: PhotoArgs) -> ToolResult:
    """Cosmetic skin measurements from a photo the customer sent (redness, shine, texture, spots, tone)."""
    photos = [m for m in ctx.media if m.content_type.startswith("image/") and m.data]
    if not photos:
        raise NotFound("Please send a clear, front-facing photo in daylight and I'll take a look.")
    if ctx.photos is None:
        raise NotFound("Photo analysis is not available right now.")
    photo = photos[min(args.index, len(photos) - 1)]
    result = ctx.photos(photo.data, photo.content_type)  # type: ignore[arg-type]
    data = result.model_dump(mode="json") if hasattr(result, "model_dump") else dict(result)
    return ToolResult(data=data, citations=[Citation(kind="photo", label="your photo (cosmetic measurements)")],
                      summary="photo analysed")

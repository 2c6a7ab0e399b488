"""The default planner: no network, no key. Intent + slots + memory -> tool calls or a question.

It holds a conversation rather than matching keywords: it remembers what it asked and resumes the
request when the answer comes ("what's your skin type?" -> "oily" -> the recommendation), carries
the last topic for follow-ups, and confirms before saving anything to the customer's account.
"""

from __future__ import annotations

import re
from typing import Any

from assistant.nlu import IntentClassifier, IntentGuess
from assistant.planner import Plan, Step
from assistant.profile import Profile
from assistant.slots import FIRST_PERSON, Slots

SKIN_TYPES = ["Oily", "Dry", "Combination", "Normal", "Sensitive"]
CONCERN_CHOICES = ["Breakouts", "Dark spots", "Fine lines", "Redness", "Dryness", "Large pores"]
_NOT_SURE = re.compile(r"\b(not sure|don'?t know|no idea|anything|nothing specific|no preference|skip|whatever)\b", re.I)
_FOLLOW_UP = re.compile(r"^\s*(and|what about|how about|also|or)\b", re.I)
_ALWAYS_TEMPLATE = {"greeting", "thanks_bye", "capabilities", "off_topic"}
_NONSENSE = 0.45
_REQUEST = re.compile(r"\?|\b(what|which|recommend|suggest|can you|could you|do you have|looking for|need|want|"
                      r"should i|help me|any (good|ideas))\b", re.I)
_WANTS_PRODUCT = re.compile(r"\b(recommend|suggest|use|buy|product|products|something|anything|need|want|looking for|"
                            r"do you have|what can i|what should i|serum|cream|cleanser|sunscreen|spf|moisturi[sz]er|"
                            r"balm|toner|mask)\b", re.I)
#: An explicit request for products: after an ingredient or concern answer it starts a recommendation,
#: it is not a follow-up question about that ingredient ("can you recommend something for oily skin?").
_PRODUCT_REQUEST = re.compile(r"\b(recommend\w*|suggest\w*|buy|looking for|do you (have|sell)|"
                              r"what (can|should) i (use|buy|get))\b", re.I)
_TOGETHER = re.compile(r"\b(with|together|plus|same (routine|night|evening|time)|combine|mix|layer|clash|"
                       r"conflict|ok to use|routine|compatible|alongside|both)\b|\buse\b.+\band\b|\s[&+]\s", re.I)
_FOR_ME = re.compile(r"\b(ok|okay|good|right|suitable|safe) for me\b|\bsuit(s)? me\b|\bcan i use (it|this|that)\b", re.I)
_STOCK = re.compile(r"\b(stock|days of cover|cover|reorder|re-order|run out|running out|forecast|inventory|"
                    r"sell(ing)? through|units)\b", re.I)
_IS_GOOD_FOR = re.compile(r"\b(is|are|does|do)\b[\w\s'-]{0,40}\b(good|ok|okay|safe|bad|suitable|work|help)\b", re.I)
_WHICH_INGREDIENTS = re.compile(r"\bingredients?\b|\b(what|which)\s+(helps|works|is good|can help)\b|"
                                r"\bwhat can i do (about|for|against)\b|\bhow (do|can) i (get rid of|fix|improve|reduce|calm)\b",
                                re.I)
_ROUTINE_WORDS = re.compile(r"\b(routine|clash|conflict|already use|what i use|my other products|combine)\b", re.I)
_ABOUT_LAST = re.compile(r"\b(it|that|this one|pregnan\w*|breastfeed\w*|safe|sun|night|morning|am|pm|"
                         r"sensitive|oily|dry)\b", re.I)
_SKIN_TYPE_CONCERN = {"dry": "dryness", "sensitive": "sensitivity"}
_PRODUCTISH = re.compile(r"\b(serum|cream|cleanser|toner|spf|sunscreen|mask|oil|balm|gel|fluid|peel|suspension|"
                         r"essence|lotion|[A-Z]{2}-[A-Z]{2,4}-\d{3})\b", re.I)
_SHIPPING_POLICY = re.compile(r"\bhow (long|much)\b|\bcosts?\b|\bprice of (shipping|delivery)\b|\bcountr(y|ies)\b|"
                              r"\b(to|in) (germany|france|italy|spain|austria|the netherlands|belgium|sweden|"
                              r"denmark|poland|ireland|switzerland|norway|the uk|uk)\b|\bexpress\b|\bfree (shipping|delivery)\b",
                              re.I)
#: Categories chosen by skin type alone; the rest (a serum, a treatment) need a concern too.
_SKIN_TYPE_ENOUGH = {"cleanser", "moisturiser", "sunscreen", "toner", "lip", "body", "face-oil", "mask"}
_NO_SKIN_TYPE_NEEDED = {"lip", "body"}


def _slots_dict(s: Slots) -> dict[str, Any]:
    return {k: v for k, v in {
        "ingredients": s.ingredients, "concerns": s.concerns, "skin_types": s.skin_types, "products": s.products,
        "max_price": s.max_price, "category": s.category, "order_id": s.order_id, "email": s.email,
        "phone": s.phone, "allergies": s.allergies, "pregnancy": s.pregnancy, "days_before": s.days_before}.items()
        if v}


def _reminder_target(text: str) -> str | None:
    """The product words after "my" ("remind me to reorder my ceramide serum" -> "ceramide serum")."""
    m = re.search(r"\bmy ([\w%+ -]{3,60}?)(?:\s+(?:runs?|is|when|before|please|again)\b|[.?!,]|$)", text, re.I)
    return m.group(1).strip() if m else None


class OfflinePlanner:
    name = "offline"

    def __init__(self, classifier: IntentClassifier, min_confidence: float = 0.55) -> None:
        self.classifier = classifier
        self.min_confidence = min_confidence

    def plan(self, text: str, slots: Slots, profile: Profile, state: dict[str, Any], role: str = "customer",
             has_photo: bool = False) -> Plan:
        guess = self.classifier.classify(text, slots, has_photo)
        new = _slots_dict(slots)
        pending = state.get("pending")
        if state.get("pending_profile") and guess.intent in ("affirm", "deny"):
            if guess.intent == "affirm":
                return Plan("profile_confirm", [Step("update_profile", {**state["pending_profile"], "confirmed": True})],
                            template="profile_saved")
            return Plan("profile_confirm", template="profile_not_saved")
        if pending and self._answers(pending, slots, text, guess):
            merged = {**pending.get("slots", {}), **new, "from_answer": True}
            if pending.get("awaiting") == "concern" and not slots.concerns:
                merged["concern_skipped"] = True
            return self.for_intent(pending["intent"], merged, text, profile, role, has_photo, guess.score)
        intent = guess.intent
        last = state.get("last_intent")
        topic_ings = [i for i in slots.ingredients if i not in slots.allergies]
        if slots.allergies and not topic_ings and not slots.products:
            # "I'm allergic to lanolin. What lip balm would you recommend?" is about a purchase, not lanolin
            intent = "recommend" if _REQUEST.search(text) and _WANTS_PRODUCT.search(text) else "profile_update"
            new["ingredients"] = []
        elif guess.source == "knn" and guess.score < self.min_confidence:
            entities = slots.ingredients or slots.concerns or slots.products or slots.skin_types
            if not entities and guess.score < _NONSENSE and self.classifier.familiar(text) < 0.5:
                intent = "unknown"          # not close to anything we know: say so, count it as a miss
            elif guess.intent in _ALWAYS_TEMPLATE and not entities:
                intent = guess.intent
            else:
                intent = self._by_entities(slots, state)
        if role == "staff" and _STOCK.search(text) and (slots.products or intent == "stock_forecast"
                                                         or _PRODUCTISH.search(text)):
            intent = "stock_forecast"
        elif intent == "order_status" and not slots.order_id and _SHIPPING_POLICY.search(text):
            intent = "policy_question"
        elif intent == "concern_info" and _WANTS_PRODUCT.search(text) and not _WHICH_INGREDIENTS.search(text):
            intent = "recommend"
        elif len(slots.products) >= 2 and _TOGETHER.search(text) and guess.source != "rule":
            intent = "routine_check"
        elif slots.products and _FOR_ME.search(text) and guess.source != "rule":
            intent = "product_info"
        elif slots.products and _ROUTINE_WORDS.search(text) and profile.customer_id and guess.source != "rule":
            intent = "routine_check"
        elif role == "staff" and last == "stock_forecast" and slots.products:
            intent = "stock_forecast"
        elif topic_ings and slots.concerns and _IS_GOOD_FOR.search(text) and not _WANTS_PRODUCT.search(text):
            intent = "ingredient_info"
        elif slots.concerns and not topic_ings and not slots.products and _WHICH_INGREDIENTS.search(text) and \
                not re.search(r"\b(suggest|recommend|buy|product)", text, re.I):
            intent = "concern_info"
        if intent in ("affirm", "deny") and not pending:
            intent = "capabilities" if intent == "deny" else self._by_entities(slots, state)
        modifiers_only = (slots.max_price or slots.category or slots.skin_types or slots.concerns) and not (
            slots.ingredients or slots.products or slots.order_id)
        if last in ("recommend", "routine_build") and modifiers_only and guess.source != "rule" and (
                _FOLLOW_UP.match(text) or intent in ("recommend", "policy_question", "profile_update", "product_info",
                                                     "affirm", "concern_info") or guess.score < self.min_confidence):
            merged = {**state.get("last_slots", {}), **new}
            return self.for_intent(last, merged, text, profile, role, has_photo, guess.score)
        if last == "ingredient_info" and slots.ingredients and _TOGETHER.search(text) and re.search(
                r"\b(it|that|this)\b", text, re.I) and state.get("last_slots", {}).get("ingredients"):
            both = list(dict.fromkeys([*state["last_slots"]["ingredients"], *slots.ingredients]))
            return self.for_intent("ingredient_combo", {**new, "ingredients": both}, text, profile, role, has_photo,
                                   guess.score)
        if intent == "recommend" and last == "concern_info" and not slots.concerns and \
                state.get("last_slots", {}).get("concerns"):
            new = {**new, "concerns": state["last_slots"]["concerns"]}
        if intent == "recommend" and state.get("last_recommend") and not (slots.skin_types or slots.concerns):
            new = {**{k: v for k, v in state["last_recommend"].items() if k in ("skin_types", "concerns")}, **new}
        asks_for_products = bool(_PRODUCT_REQUEST.search(text))
        if last == "ingredient_info" and not (slots.ingredients or slots.products or slots.concerns) and \
                not asks_for_products and len(text.split()) <= 8 and _ABOUT_LAST.search(text) and \
                state.get("last_slots", {}).get("ingredients"):
            return self.for_intent("ingredient_info", {**new, "ingredients": state["last_slots"]["ingredients"]},
                                   text, profile, role, has_photo, guess.score)
        if _FOLLOW_UP.match(text) and state.get("last_intent") and intent not in _ALWAYS_TEMPLATE:
            last = state["last_intent"]
            if last in ("ingredient_info", "concern_info", "product_info") and asks_for_products:
                last = "recommend" if intent == "recommend" else ""
            if last in ("recommend", "ingredient_info", "concern_info", "product_info") and (
                    slots.skin_types or slots.concerns or slots.ingredients or slots.category or slots.max_price):
                merged = {**state.get("last_slots", {}), **new}
                return self.for_intent(last, merged, text, profile, role, has_photo, guess.score)
        if intent == "profile_update" and _REQUEST.search(text):
            intent = "recommend" if _WANTS_PRODUCT.search(text) else self._by_entities(slots, state, exclude_profile=True)
        plan = self.for_intent(intent, new, text, profile, role, has_photo, guess.score)
        told = self._told(slots, text)
        if told and intent != "profile_update":
            plan.steps.insert(0, Step("update_profile", told))
            if profile.customer_id:
                plan.notes["pending_profile"] = told
        return plan

    @staticmethod
    def _told(slots: Slots, text: str) -> dict[str, Any]:
        """Profile facts the customer stated about themselves in passing ("I'm pregnant and need ...")."""
        out: dict[str, Any] = {}
        if slots.allergies:
            out["allergies"] = slots.allergies
        if slots.pregnancy and FIRST_PERSON.search(text):
            out["pregnancy"] = slots.pregnancy
        return out

    @staticmethod
    def _answers(pending: dict[str, Any], slots: Slots, text: str, guess: IntentGuess) -> bool:
        awaiting = pending.get("awaiting")
        if guess.source == "rule" and guess.intent != pending.get("intent"):
            return False
        if awaiting == "skin_type":
            return bool(slots.skin_types)
        if awaiting == "concern":
            return bool(slots.concerns) or bool(_NOT_SURE.search(text))
        if awaiting == "order_contact":
            return bool(slots.email or slots.phone or slots.order_id)
        return False

    @staticmethod
    def _by_entities(slots: Slots, state: dict[str, Any], exclude_profile: bool = False) -> str:
        if exclude_profile and (slots.skin_types or slots.concerns) and not (slots.ingredients or slots.products):
            return "recommend"
        if slots.products:
            return "product_info"
        if len(slots.ingredients) >= 2:
            return "ingredient_combo"
        if slots.ingredients:
            return "ingredient_info"
        if slots.concerns:
            return "concern_info"
        return "policy_question"

    def for_intent(self, intent: str, s: dict[str, Any], text: str, profile: Profile, role: str,
                   has_photo: bool, confidence: float) -> Plan:
        ings, concerns, products = s.get("ingredients", []), s.get("concerns", []), s.get("products", [])
        plan = Plan(intent, confidence=confidence, notes={"slots": s})
        if intent == "unknown":
            plan.template, plan.confidence = "fallback", 0.0
        elif intent in _ALWAYS_TEMPLATE or intent in ("affirm", "deny"):
            plan.template = intent if intent in _ALWAYS_TEMPLATE else "capabilities"
        elif intent == "concern_info" and concerns and not ings:
            plan.steps, plan.template = [Step("concern_info", {"concern": concerns[0]})], "concern"
        elif intent in ("ingredient_info", "ingredient_combo", "concern_info", "routine_check") and len(products) >= 2:
            plan.steps = [Step("check_routine_conflicts", {"products": products, "include_purchases": False})]
            plan.template = "routine_check"
        elif intent in ("ingredient_info", "ingredient_combo", "concern_info"):
            if len(ings) >= 2:
                plan.steps, plan.template = [Step("check_ingredient_combination", {"ingredients": ings[:4]})], "combination"
            elif len(products) >= 2 and intent == "ingredient_combo":
                plan.steps, plan.template = [Step("check_routine_conflicts", {"products": products})], "routine_check"
            elif ings:
                plan.steps, plan.template = [Step("ingredient_info", {"ingredient": ings[0]})], "ingredient"
            elif concerns:
                plan.steps, plan.template = [Step("concern_info", {"concern": concerns[0]})], "concern"
            elif products:
                plan.steps, plan.template = [Step("product_info", {"product": products[0]})], "product"
            else:
                plan.steps, plan.template = [Step("search_knowledge", {"query": text})], "search"
        elif intent in ("recommend", "routine_build"):
            skin = (s.get("skin_types") or [None])[0] or profile.skin_type
            wanted = concerns or profile.concerns
            if not wanted and s.get("skin_types") and s["skin_types"][0] in _SKIN_TYPE_CONCERN and \
                    not s.get("from_answer"):
                wanted = [_SKIN_TYPE_CONCERN[s["skin_types"][0]]]
            if not skin and s.get("category") not in _NO_SKIN_TYPE_NEEDED:
                return self._ask(intent, s, "skin_type", "ask_skin_type", SKIN_TYPES)
            if not wanted and s.get("category") not in _SKIN_TYPE_ENOUGH and not s.get("concern_skipped") \
                    and not ings and intent == "recommend":
                return self._ask(intent, {**s, "skin_types": [skin]}, "concern", "ask_concern", CONCERN_CHOICES)
            base = {"skin_type": skin, "concerns": wanted}
            if ings and intent == "recommend":
                base["ingredient"] = ings[0]
            if s.get("max_price"):
                base["max_price"] = s["max_price"]
            if intent == "routine_build":   # one AM/PM routine from the routine builder (commerce.routine)
                plan.steps = [Step("build_routine", {"skin_type": skin, "concerns": wanted,
                                                     "budget": s.get("max_price")})]
                plan.template = "routine_built"
            else:
                if s.get("category"):
                    base["category"] = s["category"]
                plan.steps, plan.template = [Step("recommend_products", base)], "recommend"
        elif intent == "routine_check":
            plan.steps = [Step("check_routine_conflicts", {"products": products, "include_purchases": True})]
            plan.template = "routine_check"
        elif intent == "order_status":
            oid = s.get("order_id")
            if profile.customer_id:
                plan.steps = [Step("lookup_order", {"order_id": oid} if oid else {})]
            elif oid and (s.get("email") or s.get("phone")):
                plan.steps = [Step("lookup_order", {"order_id": oid, "email": s.get("email"), "phone": s.get("phone")})]
            else:
                return self._ask(intent, s, "order_contact", "ask_order_contact" if not oid else "ask_order_email", [])
            plan.template = "order"
        elif intent in ("reminder_set", "reminder_list", "reminder_cancel") and not profile.customer_id:
            plan.template = "reminder_needs_account"
        elif intent == "reminder_set":
            plan.steps = [Step("set_reminder", {"product": products[0] if products else s.get("category") or
                                                _reminder_target(text), "days_before": s.get("days_before")})]
            plan.template = "reminder_set"
        elif intent == "reminder_list":
            plan.steps, plan.template = [Step("list_reminders")], "reminder_list"
        elif intent == "reminder_cancel":
            plan.steps = [Step("cancel_reminder", {"reminder": products[0] if products else s.get("category")})]
            plan.template = "reminder_cancel"
        elif intent == "stock_forecast":
            target = products[0] if products else text
            if role == "staff":
                plan.steps, plan.template = [Step("stock_forecast", {"product": target})], "stock"
            elif products:
                plan.steps, plan.template = [Step("product_info", {"product": target})], "product"
            else:
                plan.steps, plan.template = [Step("search_knowledge", {"query": text})], "search"
        elif intent == "photo_analysis":
            if has_photo:
                plan.steps, plan.template = [Step("analyze_skin_photo")], "photo"
            else:
                plan.template = "photo_instructions"
        elif intent == "profile_update":
            args = {k: v for k, v in {"skin_type": (s.get("skin_types") or [None])[0], "concerns": concerns,
                                      "allergies": s.get("allergies", []), "pregnancy": s.get("pregnancy")}.items() if v}
            if not args:
                plan.template = "profile_what"
            else:
                plan.steps, plan.template = [Step("update_profile", args)], "profile_noted"
                if profile.customer_id:
                    plan.notes["pending_profile"] = args
        elif intent == "handoff":
            plan.steps, plan.template = [Step("handoff_to_human", {"reason": "customer asked for a person"})], "handoff"
        elif intent == "complaint":
            plan.steps = [Step("handoff_to_human", {"reason": "customer is upset"})]
            plan.template = "complaint"
        elif intent == "product_info":
            if products:
                plan.steps, plan.template = [Step("product_info", {"product": products[0]})], "product"
            else:
                plan.steps, plan.template = [Step("search_knowledge", {"query": text})], "search"
        else:  # policy_question and anything else: the brand's documents
            plan.steps, plan.template = [Step("search_knowledge", {"query": text})], "search"
        return plan

    @staticmethod
    def _ask(intent: str, slots: dict[str, Any], awaiting: str, template: str, choices: list[str]) -> Plan:
        return Plan(intent, template=template, quick_replies=choices,
                    pending={"intent": intent, "awaiting": awaiting, "slots": slots})

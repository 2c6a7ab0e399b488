"""Widget identity rules without I/O: session tokens, the shop's customer token, binding, rate buckets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from api.channels.web import (
    SessionSigner,
    WebChannel,
    WidgetAuthError,
    customer_token,
    inbound,
    verify_customer_token,
)
from api.ratelimit import TokenBucketLimiter

SECRET = b"s" * 32
SHOP = b"shop-shared-secret-0123456789"
NOW = 1_800_000_000


class Clock:
    def __init__(self, t: float = NOW) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def channel(clock: Clock, ttl: int = 3600) -> WebChannel:
    return WebChannel(SessionSigner(SECRET, ttl, clock), SHOP, customer_max_ttl_s=86_400)


def b64(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def jwt(header: dict[str, object], claims: dict[str, object], secret: bytes = SHOP) -> str:
    head, body = b64(header), b64(claims)
    sig = base64.urlsafe_b64encode(hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()).rstrip(b"=")
    return f"{head}.{body}.{sig.decode()}"


# --- visitor session tokens -------------------------------------------------------------------------

def test_a_session_token_round_trips_and_expires() -> None:
    clock = Clock()
    signer = SessionSigner(SECRET, 600, clock)
    token, session = signer.issue()
    assert signer.verify(token) == session and len(session.session_id) == 32 and not session.bound
    clock.t += 601
    with pytest.raises(WidgetAuthError) as e:
        signer.verify(token)
    assert e.value.code == "session_expired"


@pytest.mark.parametrize("mutate", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),             # signature changed
    lambda t: b64({"sid": "a" * 32, "iat": NOW, "exp": NOW + 10**6, "c": ""}) + "." + t.split(".")[1],  # payload swapped
    lambda t: t.split(".")[0],                                                # no signature
    lambda t: "",
])
def test_a_tampered_session_token_is_refused(mutate: object) -> None:
    signer = SessionSigner(SECRET, 600, Clock())
    token, _ = signer.issue()
    with pytest.raises(WidgetAuthError) as e:
        signer.verify(mutate(token))  # type: ignore[operator]
    assert e.value.code == "session_invalid"


def test_a_token_from_another_secret_is_refused() -> None:
    token, _ = SessionSigner(b"x" * 32, 600, Clock()).issue()
    with pytest.raises(WidgetAuthError):
        SessionSigner(SECRET, 600, Clock()).verify(token)


def test_a_short_secret_is_refused_at_start() -> None:
    with pytest.raises(ValueError):
        SessionSigner(b"short", 600)


# --- the shop's customer token ---------------------------------------------------------------------

def test_the_shop_token_names_the_customer() -> None:
    token = customer_token(SHOP, "cus-ana", 3600, now=NOW)
    assert verify_customer_token(token, SHOP, max_ttl_s=86_400, clock=Clock()) == "cus-ana"


def test_a_token_made_by_a_standard_jwt_encoder_shape_is_accepted() -> None:
    token = jwt({"alg": "HS256", "typ": "JWT"}, {"sub": "cus-ben", "aud": "skinsage-widget", "exp": NOW + 60})
    assert verify_customer_token(token, SHOP, max_ttl_s=3600, clock=Clock()) == "cus-ben"


@pytest.mark.parametrize("header,claims,secret,why", [
    ({"alg": "HS256"}, {"sub": "cus-ana", "aud": "skinsage-widget", "exp": NOW - 120}, SHOP, "expired"),
    ({"alg": "HS256"}, {"sub": "cus-ana", "aud": "skinsage-widget", "exp": NOW + 60}, b"wrong-secret", "signature"),
    ({"alg": "none"}, {"sub": "cus-ana", "aud": "skinsage-widget", "exp": NOW + 60}, SHOP, "HS256"),
    ({"alg": "HS256"}, {"sub": "cus-ana", "exp": NOW + 60}, SHOP, "aud"),
    ({"alg": "HS256"}, {"sub": "cus-ana", "aud": "other-app", "exp": NOW + 60}, SHOP, "aud"),
    ({"alg": "HS256"}, {"sub": "cus-ana", "aud": "skinsage-widget"}, SHOP, "exp"),
    ({"alg": "HS256"}, {"sub": "cus-ana", "aud": "skinsage-widget", "exp": NOW + 10 * 86_400}, SHOP, "lifetime"),
    ({"alg": "HS256"}, {"sub": "x y<script>", "aud": "skinsage-widget", "exp": NOW + 60}, SHOP, "sub"),
    ({"alg": "HS256"}, {"sub": "cus-ana", "aud": "skinsage-widget", "exp": NOW + 60, "iat": NOW + 3600}, SHOP,
     "future"),
])
def test_a_bad_shop_token_is_refused(header: dict[str, object], claims: dict[str, object], secret: bytes,
                                     why: str) -> None:
    with pytest.raises(WidgetAuthError) as e:
        verify_customer_token(jwt(header, claims, secret), SHOP, max_ttl_s=86_400, clock=Clock())
    assert e.value.code == "customer_token_invalid" and why in str(e.value)


def test_an_alg_none_token_without_signature_is_refused() -> None:
    token = b64({"alg": "none"}) + "." + b64({"sub": "cus-ana", "aud": "skinsage-widget", "exp": NOW + 60}) + "."
    with pytest.raises(WidgetAuthError):
        verify_customer_token(token, SHOP, max_ttl_s=86_400, clock=Clock())


# --- sessions bound to a customer --------------------------------------------------------------------

def test_a_guest_is_never_a_customer_even_with_a_token_on_a_guest_session() -> None:
    web = channel(Clock())
    token, session, resumed = web.start(None, None)
    assert not resumed and not session.bound
    got, customer = web.authorize(token, customer_token(SHOP, "cus-ana", now=NOW))
    assert got.session_id == session.session_id and customer is None


def test_signing_in_keeps_the_guest_conversation_and_binds_it() -> None:
    web = channel(Clock())
    guest, first, _ = web.start(None, None)
    shop = customer_token(SHOP, "cus-ana", now=NOW)
    bound, second, resumed = web.start(guest, shop)
    assert resumed and second.session_id == first.session_id and second.bound
    assert web.authorize(bound, shop)[1] == "cus-ana"


def test_signing_out_or_another_customer_gets_a_fresh_session() -> None:
    web = channel(Clock())
    ana = customer_token(SHOP, "cus-ana", now=NOW)
    bound, session, _ = web.start(None, ana)
    _, after_logout, resumed = web.start(bound, None)
    assert not resumed and after_logout.session_id != session.session_id and not after_logout.bound
    _, ben_session, resumed = web.start(bound, customer_token(SHOP, "cus-ben", now=NOW))
    assert not resumed and ben_session.session_id != session.session_id


def test_a_bound_session_needs_its_own_customers_valid_token_on_every_request() -> None:
    clock = Clock()
    web = channel(clock, ttl=10 * 86_400)
    ana = customer_token(SHOP, "cus-ana", 600, now=NOW)
    bound, _, _ = web.start(None, ana)
    for wrong in (None, customer_token(SHOP, "cus-ben", now=NOW)):
        with pytest.raises(WidgetAuthError) as e:
            web.authorize(bound, wrong)
        assert e.value.code == "customer_required"
    clock.t += 3600  # the shop token expired, the session did not
    with pytest.raises(WidgetAuthError):
        web.authorize(bound, ana)


def test_an_invalid_shop_token_at_start_means_guest() -> None:
    web = channel(Clock())
    _, session, _ = web.start(None, "not.a.token")
    assert not session.bound


def test_without_a_shared_secret_everyone_is_a_guest() -> None:
    web = WebChannel(SessionSigner(SECRET, 600, Clock()), None, 86_400)
    _, session, _ = web.start(None, customer_token(SHOP, "cus-ana", now=NOW))
    assert not session.bound


def test_only_a_verified_customer_reaches_the_inbound_message() -> None:
    guest = inbound("a" * 32, None, "hi", "m-00000001")
    ana = inbound("a" * 32, "cus-ana", "hi", "m-00000001")
    assert guest.verified_identity is None and ana.verified_identity == "customer:cus-ana"
    assert guest.channel == "web" and guest.provider_message_id == "a" * 32 + ":m-00000001"


# --- token buckets ------------------------------------------------------------------------------------

def test_a_bucket_allows_the_burst_then_says_how_long_to_wait() -> None:
    clock = Clock(0)
    bucket = TokenBucketLimiter(per_minute=60, burst=3, clock=clock)
    assert [bucket.acquire("ip") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.acquire("ip") == pytest.approx(1.0)
    assert bucket.acquire("other") == 0.0  # keys are independent
    clock.t += 1.0
    assert bucket.acquire("ip") == 0.0 and bucket.acquire("ip") > 0


def test_a_refused_request_takes_nothing_and_idle_keys_refill_to_the_burst_only() -> None:
    clock = Clock(0)
    bucket = TokenBucketLimiter(per_minute=6, burst=2, clock=clock)
    bucket.acquire("k")
    bucket.acquire("k")
    for _ in range(5):
        assert bucket.acquire("k") == pytest.approx(10.0)  # refusals do not push the wait further
    clock.t += 3600
    assert [bucket.acquire("k") for _ in range(3)][:2] == [0.0, 0.0] and bucket.acquire("k") > 0


def test_the_bucket_table_is_bounded() -> None:
    bucket = TokenBucketLimiter(per_minute=1, burst=1, max_keys=100, clock=Clock(0))
    for i in range(1000):
        bucket.acquire(f"ip-{i}")
    assert len(bucket._buckets) == 100

/*
 * SkinSage storefront events: product views with dwell time, add to cart, checkout started, order
 * placed, widget opened; and the assistant's nudges, shown through the chat widget.
 *
 * <script src="https://assistant.example/widget/events.js" data-consent="granted"
 *         data-sku="LSH-NIA-10"  data-customer-id="cus-00042" data-customer-sig="<hmac>"></script>
 *
 * Nothing is recorded, stored or sent without consent: data-consent="granted", or later
 * SkinSage.setTrackingConsent(true) from the shop's cookie banner (false stops and forgets the id).
 * The page marks buttons with data-skinsage-add-to-cart="SKU" and data-skinsage-checkout, or calls
 * SkinSage.track(kind, fields) itself (e.g. order_placed on the thank-you page).
 */
(function () {
  "use strict";
  if (window.__skinsageEvents) return;
  window.__skinsageEvents = true;

  var me = document.currentScript ||
    document.querySelector('script[src*="/widget/events.js"]') ||
    document.querySelector("script[data-events]");
  var data = (me && me.dataset) || {};
  var cfg = window.SkinSageEvents || {};
  var base = (cfg.api || data.api || (me && me.src ? new URL(me.src, location.href).origin : "")).replace(/\/$/, "");
  var KEY = "skinsage_vid";
  var HEARTBEAT_MS = 15000, POLL_MS = 20000;
  var consent = cfg.consent === true || data.consent === "granted" || data.consent === "true";
  var queue = [], pendingNudges = [], viewId = null, dwellMs = 0, visibleSince = null, flushing = false;

  function rid(prefix) {
    var a = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return prefix + Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function visitorId() {
    var v = null;
    try { v = localStorage.getItem(KEY); } catch (e) { /* storage blocked: one id per page */ }
    if (!v || !/^[A-Za-z0-9_-]{8,64}$/.test(v)) {
      v = rid("v");
      try { localStorage.setItem(KEY, v); } catch (e) { /* ignore */ }
    }
    return v;
  }
  function tz() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || null; } catch (e) { return null; }
  }
  function sku() {
    if (cfg.sku) return cfg.sku;
    if (data.sku) return data.sku;
    var m = document.querySelector('meta[name="skinsage:sku"]');
    return m ? m.getAttribute("content") : null;
  }

  function send(events, beacon) {
    if (!consent || !events.length) return Promise.resolve(null);
    var body = { visitor_id: visitorId(), consent: true, tz: tz(), events: events };
    var cid = cfg.customerId || data.customerId, sig = cfg.customerSig || data.customerSig;
    if (cid && sig) { body.customer_id = cid; body.customer_sig = sig; }
    return fetch(base + "/v1/events", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      keepalive: !!beacon, credentials: "omit"
    }).then(function (r) { return r.ok ? r.json() : null; }).catch(function () { return null; });
  }
  function flush(beacon) {
    if (flushing && !beacon) return;
    var batch = queue.splice(0, 50);
    if (!batch.length) return;
    flushing = true;
    send(batch, beacon).then(function (res) {
      flushing = false;
      if (res && res.nudges_waiting > 0) poll();
      if (queue.length) flush(false);
    });
  }
  function track(kind, fields) {
    if (!consent) return;
    var e = { kind: kind, id: (fields && fields.id) || rid("e"), at: new Date().toISOString() };
    for (var k in fields || {}) if (Object.prototype.hasOwnProperty.call(fields, k)) e[k] = fields[k];
    queue.push(e);
    flush(false);
  }

  /* product page: one view whose dwell grows while the page is visible (re-sent with the same id) */
  function dwellSeconds() {
    var ms = dwellMs + (visibleSince ? Date.now() - visibleSince : 0);
    return Math.round(ms / 100) / 10;
  }
  function viewBeat(beacon) {
    if (!viewId || !consent) return;
    queue.push({ kind: "product_view", id: viewId, sku: sku(), dwell_s: dwellSeconds(), at: new Date().toISOString() });
    flush(beacon);
  }
  function startView() {
    if (!sku() || viewId || !consent) return;
    viewId = rid("view");
    visibleSince = document.visibilityState === "visible" ? Date.now() : null;
    viewBeat(false);
    setInterval(function () { if (visibleSince) viewBeat(false); }, HEARTBEAT_MS);
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { visibleSince = visibleSince || Date.now(); poll(); }
    else if (visibleSince) { dwellMs += Date.now() - visibleSince; visibleSince = null; viewBeat(true); }
  });
  window.addEventListener("pagehide", function () { viewBeat(true); });

  document.addEventListener("click", function (ev) {
    var el = ev.target && ev.target.closest ? ev.target.closest("[data-skinsage-add-to-cart],[data-skinsage-checkout]") : null;
    if (!el) return;
    if (el.hasAttribute("data-skinsage-add-to-cart")) track("add_to_cart", { sku: el.getAttribute("data-skinsage-add-to-cart") || sku() });
    else track("checkout_started", {});
    flush(true);
  }, true);
  document.addEventListener("skinsage:widget-opened", function () { track("widget_opened", {}); });

  /* nudges: polled while the page is visible, shown by the chat widget once it is there */
  function show() {
    var api = window.SkinSage;
    while (pendingNudges.length && api && typeof api.showNudge === "function") {
      var n = pendingNudges.shift();
      try { api.showNudge(n.text, n.quick_replies || []); } catch (e) { /* the widget's problem, not the page's */ }
    }
  }
  function poll() {
    if (!consent || document.visibilityState !== "visible") return;
    fetch(base + "/v1/events/nudges?visitor_id=" + encodeURIComponent(visitorId()), { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : { nudges: [] }; })
      .then(function (res) { pendingNudges = pendingNudges.concat(res.nudges || []); show(); })
      .catch(function () { /* offline: try at the next tick */ });
  }
  setInterval(poll, POLL_MS);
  setInterval(show, 1000);

  var api = window.SkinSage = window.SkinSage || {};
  api.track = track;
  api.setTrackingConsent = function (granted) {
    consent = !!granted;
    if (!consent) {
      queue = []; viewId = null;
      try { localStorage.removeItem(KEY); } catch (e) { /* ignore */ }
      return;
    }
    startView(); poll();
  };
  api.stopNudges = function () {
    if (!consent) return Promise.resolve();
    return fetch(base + "/v1/events/nudges/opt-out", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ visitor_id: visitorId(), opted_out: true }), credentials: "omit"
    });
  };
  if (consent) { startView(); poll(); }
})();

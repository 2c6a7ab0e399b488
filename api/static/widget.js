/*!
 * SkinSage chat widget. One tag on any storefront page, no build step:
 *
 *   <script src="https://assistant.example.com/widget.js" defer
 *           data-title="Skincare assistant"            (optional) panel title
 *           data-brand="Lumen Skin House"              (optional) used in labels
 *           data-customer-token="<HS256 JWT from the shop backend>"   (optional) signed-in customer
 *           data-events="on"                           (optional) also load /widget/events.js
 *           data-api="https://assistant.example.com"   (optional) API origin; default: this script's origin
 *           data-position="right|left"></script>       (optional)
 *
 * window.SkinSage: open(), close(), send(text), showNudge(text, quickReplies), sessionId(), config.
 *
 * Safety: every bot, agent and customer text is set with textContent (never innerHTML); links and
 * images only with http(s) URLs. Each message has a client_message_id, kept in localStorage until it
 * is answered, so retries after a dropped connection or a reload are answered once by the server.
 */
(function () {
  "use strict";
  if (window.SkinSage && window.SkinSage.__loaded) return;

  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  var data = (script && script.dataset) || {};
  var scriptOrigin = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  var cfg = {
    api: (data.api || scriptOrigin).replace(/\/+$/, ""),
    title: data.title || "Skincare assistant",
    brand: data.brand || "SkinSage",
    customerToken: data.customerToken || null,
    events: data.events === "on",
    position: data.position === "left" ? "left" : "right",
    maxChars: 2000,
    greeting: data.greeting || "Hi! I can recommend products for your skin, explain ingredients, check a " +
      "photo of your skin, or look up an order. How can I help?"
  };
  var STORE_KEY = "skinsage.widget:" + cfg.api;
  var HUMAN_LABEL = "Talk to a person";

  // ---- persistence (localStorage may be blocked: then memory only) ----------------------------
  var memory = {};
  function load() {
    try { return JSON.parse(localStorage.getItem(STORE_KEY) || "{}") || {}; } catch (e) { return memory; }
  }
  function save(state) {
    memory = state;
    try { localStorage.setItem(STORE_KEY, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }
  function update(fn) { var s = load(); fn(s); save(s); return s; }
  function pending() { return load().pending || []; }
  function addPending(job) { update(function (s) { s.pending = (s.pending || []).concat([job]); }); }
  function dropPending(id) {
    update(function (s) { s.pending = (s.pending || []).filter(function (j) { return j.id !== id; }); });
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    var a = new Uint8Array(16); crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  function safeUrl(u) {
    if (!u || typeof u !== "string") return null;
    try {
      var x = new URL(u, location.href);
      return x.protocol === "https:" || x.protocol === "http:" ? x.href : null;
    } catch (e) { return null; }
  }

  // ---- DOM helpers: text only through textContent --------------------------------------------
  function el(tag, attrs, children) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") n.textContent = String(v);
      else if (k.slice(0, 2) === "on") n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v === true ? "" : String(v));
    });
    (children || []).forEach(function (c) { if (c) n.appendChild(c); });
    return n;
  }
  function icon(path) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var p = document.createElementNS(ns, "path"); p.setAttribute("d", path); svg.appendChild(p);
    return svg;
  }

  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}",
    ".root{position:fixed;bottom:16px;z-index:2147483000;color:#1b1f1d;font-size:15px;line-height:1.45}",
    ".root.right{right:16px}.root.left{left:16px}",
    "button{font:inherit;cursor:pointer}",
    ":focus-visible{outline:3px solid #0b57d0;outline-offset:2px}",
    ".launcher{display:flex;align-items:center;gap:8px;background:#1d5b47;color:#fff;border:0;border-radius:28px;",
    "padding:12px 18px;min-height:48px;box-shadow:0 4px 14px rgba(0,0,0,.25);font-weight:600}",
    ".launcher svg,.icon-btn svg{width:22px;height:22px;fill:currentColor}",
    ".panel{position:absolute;bottom:64px;width:380px;max-width:calc(100vw - 32px);height:min(620px,calc(100vh - 100px));",
    "background:#fff;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.3);display:flex;flex-direction:column;overflow:hidden}",
    ".right .panel{right:0}.left .panel{left:0}",
    ".panel[hidden],.nudge[hidden],.typing[hidden],.notice[hidden]{display:none}",
    "header{display:flex;align-items:center;gap:6px;background:#1d5b47;color:#fff;padding:10px 10px 10px 16px}",
    "h2{flex:1;margin:0;font-size:16px;font-weight:600;color:#fff}",
    ".human{background:#fff;color:#1d5b47;border:0;border-radius:16px;padding:6px 12px;font-size:13px;font-weight:600;min-height:32px}",
    ".icon-btn{background:transparent;color:#fff;border:0;border-radius:8px;width:40px;height:40px;display:grid;place-items:center}",
    ".log{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px;background:#fafbfa}",
    ".msg{max-width:88%;padding:9px 12px;border-radius:14px;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".msg.customer{align-self:flex-end;background:#1d5b47;color:#fff;border-bottom-right-radius:4px}",
    ".msg.assistant,.msg.agent{align-self:flex-start;background:#e9efec;color:#1b1f1d;border-bottom-left-radius:4px}",
    ".msg.system{align-self:center;background:#fff4e5;color:#5c3b00;font-size:14px;border:1px solid #e8c48a}",
    ".who{display:block;font-size:12px;font-weight:600;color:#3d4a44;margin-bottom:2px}",
    ".sources{display:block;font-size:12px;color:#3d4a44;margin-top:6px}",
    ".cards{list-style:none;margin:8px 0 0;padding:0;display:grid;gap:8px}",
    ".card{display:flex;gap:10px;background:#fff;border:1px solid #c9d3ce;border-radius:10px;padding:8px;white-space:normal}",
    ".card img{width:56px;height:56px;object-fit:cover;border-radius:6px;background:#e9efec;flex:none}",
    ".card a{color:#174c3b;font-weight:600}.card .price{color:#1b1f1d;font-weight:600}",
    ".card .reason{display:block;font-size:13px;color:#3d4a44}",
    ".quick{display:flex;flex-wrap:wrap;gap:6px;align-self:flex-start}",
    ".quick button{background:#fff;color:#174c3b;border:1.5px solid #1d5b47;border-radius:16px;padding:6px 12px;font-size:14px;min-height:36px}",
    ".typing{padding:4px 16px 8px;font-size:13px;color:#3d4a44;background:#fafbfa}",
    ".dots span{display:inline-block;animation:b 1s infinite}.dots span:nth-child(2){animation-delay:.15s}.dots span:nth-child(3){animation-delay:.3s}",
    "@keyframes b{0%,100%{opacity:.3}50%{opacity:1}}",
    "@media (prefers-reduced-motion:reduce){.dots span{animation:none}}",
    ".notice{padding:6px 14px;font-size:13px;background:#fff4e5;color:#5c3b00;border-top:1px solid #e8c48a}",
    "form{display:flex;align-items:flex-end;gap:6px;padding:10px;border-top:1px solid #d5ddd9;background:#fff}",
    "textarea{flex:1;resize:none;border:1.5px solid #6b7a73;border-radius:10px;padding:9px 10px;font:inherit;font-size:16px;",
    "max-height:120px;color:#1b1f1d;background:#fff}",
    ".tool{background:#fff;color:#1d5b47;border:1.5px solid #1d5b47;border-radius:10px;width:44px;height:44px;display:grid;place-items:center}",
    ".tool svg{width:22px;height:22px;fill:currentColor}",
    ".send{background:#1d5b47;color:#fff;border:0;border-radius:10px;height:44px;padding:0 14px;font-weight:600}",
    ".send:disabled{background:#6b7a73}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    ".nudge{position:absolute;bottom:64px;width:280px;max-width:calc(100vw - 32px);background:#fff;border:1px solid #c9d3ce;",
    "border-radius:12px;padding:12px;box-shadow:0 6px 20px rgba(0,0,0,.2)}",
    ".right .nudge{right:0}.left .nudge{left:0}",
    ".nudge p{margin:0 24px 8px 0}.nudge .x{position:absolute;top:4px;right:4px;color:#1b1f1d;background:none;border:0;width:32px;height:32px}",
    "@media (max-width:480px){.panel{position:fixed;inset:0;width:100vw;max-width:none;height:100%;border-radius:0}",
    ".root.open .launcher{display:none}}"
  ].join("");

  // ---- state ------------------------------------------------------------------------------------
  var ui = {};
  var session = null;       // {token, id}
  var seenIds = {}, seenClient = {};
  var queue = Promise.resolve();
  var status = "none";      // bot | waiting_human | human | none
  var pollTimer = null;
  var awaiting = {};        // client ids whose answer will come later (worker retry, slow answer)
  var readyResolve;
  var ready = new Promise(function (r) { readyResolve = r; });

  function build() {
    var host = el("div", { id: "skinsage-widget" });
    var shadow = host.attachShadow({ mode: "open" });
    shadow.appendChild(el("style", { text: CSS }));
    ui.root = el("div", { class: "root " + cfg.position });
    ui.launcher = el("button", { class: "launcher", type: "button", "aria-expanded": "false",
      "aria-controls": "ss-panel", "aria-label": "Chat with the " + cfg.brand + " assistant",
      onclick: function () { ui.panel.hidden ? open() : close(); } },
      [icon("M4 4h16v12H7l-3 3V4z"), el("span", { text: "Chat" })]);
    ui.log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Conversation",
      tabindex: "0" });
    ui.typing = el("div", { class: "typing", role: "status", hidden: true },
      [el("span", { text: "Assistant is typing" }), el("span", { class: "dots", "aria-hidden": "true" },
        [el("span", { text: "." }), el("span", { text: "." }), el("span", { text: "." })])]);
    ui.notice = el("div", { class: "notice", role: "status", hidden: true });
    ui.input = el("textarea", { id: "ss-input", rows: "1", maxlength: String(cfg.maxChars),
      placeholder: "Type your question", "aria-label": "Your message", autocomplete: "off" });
    ui.input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
    });
    ui.file = el("input", { type: "file", class: "sr", accept: "image/jpeg,image/png,image/webp",
      tabindex: "-1", "aria-hidden": "true" });
    ui.file.addEventListener("change", function () {
      var f = ui.file.files && ui.file.files[0]; ui.file.value = ""; if (f) sendPhoto(f);
    });
    ui.photo = el("button", { class: "tool", type: "button", "aria-label": "Send a photo for a skin check",
      title: "Send a photo for a skin check", onclick: function () { ui.file.click(); } },
      [icon("M9 3 7.2 5H4a2 2 0 0 0-2 2v11a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2h-3.2L15 3H9zm3 5a5 5 0 1 1 0 10 5 5 0 0 1 0-10zm0 2a3 3 0 1 0 0 6 3 3 0 0 0 0-6z")]);
    ui.send = el("button", { class: "send", type: "submit", "aria-label": "Send message", text: "Send" });
    ui.form = el("form", { "aria-label": "Send a message", onsubmit: function (e) { e.preventDefault(); submit(); } },
      [ui.photo, ui.file, ui.input, ui.send]);
    ui.human = el("button", { class: "human", type: "button", text: HUMAN_LABEL,
      "aria-label": "Talk to a person from our team", onclick: function () { talkToPerson(); } });
    ui.close = el("button", { class: "icon-btn", type: "button", "aria-label": "Close chat",
      onclick: function () { close(); } }, [icon("M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z")]);
    ui.panel = el("section", { id: "ss-panel", class: "panel", role: "dialog", "aria-modal": "false",
      "aria-labelledby": "ss-title", hidden: true },
      [el("header", {}, [el("h2", { id: "ss-title", text: cfg.title }), ui.human, ui.close]),
        ui.log, ui.typing, ui.notice, ui.form]);
    ui.panel.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); close(); }
    });
    ui.nudge = el("div", { class: "nudge", role: "status", hidden: true });
    ui.root.appendChild(ui.nudge);
    ui.root.appendChild(ui.panel);
    ui.root.appendChild(ui.launcher);
    shadow.appendChild(ui.root);
    document.body.appendChild(host);
  }

  // ---- rendering ----------------------------------------------------------------------------------
  function scroll() { ui.log.scrollTop = ui.log.scrollHeight; }
  function who(role) {
    return { customer: "You", assistant: "Assistant", agent: "Team member", system: "Notice" }[role] || "";
  }
  function bubble(role, text, attrs) {
    var body = el("span", { class: "text", text: text || "" });
    var m = el("div", Object.assign({ class: "msg " + role }, attrs || {}),
      [el("span", { class: role === "customer" ? "who sr" : "who", text: who(role) }), body]);
    ui.log.appendChild(m);
    scroll();
    return m;
  }
  function price(p) {
    try { return new Intl.NumberFormat(undefined, { style: "currency", currency: p.currency || "EUR" }).format(p.price); }
    catch (e) { return String(p.price) + " " + (p.currency || ""); }
  }
  function cards(products) {
    if (!products || !products.length) return null;
    return el("ul", { class: "cards", "aria-label": "Suggested products" }, products.slice(0, 6).map(function (p) {
      var href = safeUrl(p.url), src = safeUrl(p.image);
      var img = src ? el("img", { src: src, alt: "", loading: "lazy", referrerpolicy: "no-referrer" }) : null;
      if (img) img.addEventListener("error", function () { img.removeAttribute("src"); });
      var name = href ? el("a", { href: href, target: "_blank", rel: "noopener noreferrer", text: p.name })
        : el("strong", { text: p.name });
      return el("li", { class: "card", "data-sku": p.sku }, [img, el("div", {}, [name, el("div", { class: "price", text: price(p) }),
        p.reason ? el("span", { class: "reason", text: p.reason }) : null])]);
    }));
  }
  function clearQuick() {
    Array.prototype.forEach.call(ui.log.querySelectorAll(".quick"), function (q) { q.remove(); });
  }
  function quick(replies) {
    clearQuick();
    if (!replies || !replies.length) return;
    ui.log.appendChild(el("div", { class: "quick", role: "group", "aria-label": "Suggested replies" },
      replies.slice(0, 6).map(function (r) {
        return el("button", { type: "button", text: r, onclick: function () { chooseQuick(r); } });
      })));
    scroll();
  }
  function chooseQuick(r) {
    if (r.trim().toLowerCase() === HUMAN_LABEL.toLowerCase()) talkToPerson(); else send(r);
  }
  function finish(m, d) {
    m.querySelector(".text").textContent = d.text || "";
    var c = cards(d.products);
    if (c) m.appendChild(c);
    // brand documents read well as sources; graph paths and internal refs are for the console's trace
    var labels = (d.citations || []).filter(function (x) { return x.kind === "document"; })
      .map(function (x) { return x.label; }).filter(Boolean);
    if (labels.length) m.appendChild(el("span", { class: "sources", text: "Sources: " + labels.slice(0, 4).join("; ") }));
    if (d.message_id) { m.setAttribute("data-id", d.message_id); seenIds[d.message_id] = true; }
    quick(d.quick_replies);
    scroll();
  }
  function renderRecord(r) {
    if (seenIds[r.id]) return;
    seenIds[r.id] = true;
    if (r.client_id && seenClient[r.client_id]) return;
    if (r.client_id) seenClient[r.client_id] = true;
    if (r.reply_to_client_id) delete awaiting[r.reply_to_client_id];
    var text = r.photo && r.role === "customer" ? "\uD83D\uDCF7 Photo sent" + (r.text ? ": " + r.text : "") : r.text;
    var m = bubble(r.role, text, { "data-id": r.id });
    if (r.role !== "customer") finish(m, { text: text, products: r.products, citations: r.citations, message_id: r.id });
  }
  function notice(text) { ui.notice.textContent = text || ""; ui.notice.hidden = !text; }
  function typing(on) { ui.typing.hidden = !on; if (on) scroll(); }

  // ---- HTTP -----------------------------------------------------------------------------------------
  function headers(json) {
    var h = { Authorization: "Bearer " + (session ? session.token : "") };
    if (cfg.customerToken) h["X-SkinSage-Customer"] = cfg.customerToken;
    if (json) h["Content-Type"] = "application/json";
    return h;
  }
  function Failure(kind, message, retryAfter, code) {
    this.kind = kind; this.message = message; this.retryAfter = retryAfter; this.code = code;
  }
  async function failure(res) {
    var body = {};
    try { body = await res.json(); } catch (e) { /* not JSON */ }
    var err = body.error || {};
    var msg = err.message || ("HTTP " + res.status);
    if (res.status === 429) return new Failure("retry", "We're getting a lot of messages. Retrying shortly…",
      parseFloat(res.headers.get("Retry-After") || "5"), "rate_limited");
    if (res.status === 401) return new Failure("auth", msg, 0, err.code);
    if (res.status >= 500) return new Failure("retry", msg, 0, err.code);
    return new Failure("fatal", msg, 0, err.code);
  }
  async function call(method, path, body) {
    var res;
    try {
      res = await fetch(cfg.api + path, { method: method, headers: headers(body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body), mode: "cors", credentials: "omit" });
    } catch (e) { throw new Failure("retry", "network"); }
    if (!res.ok) throw await failure(res);
    return res.json();
  }
  async function withRetry(fn, label) {
    for (var attempt = 1; ; attempt++) {
      try { var out = await fn(); notice(""); return out; }
      catch (e) {
        if (!(e instanceof Failure)) e = new Failure("retry", String(e));
        if (e.kind === "auth" && attempt <= 2) { await startSession(true); continue; }
        if (e.kind !== "retry" || attempt >= 8) throw e;
        var wait = e.retryAfter ? e.retryAfter * 1000 : Math.min(30000, 1000 * Math.pow(2, attempt - 1)) * (0.75 + Math.random() / 2);
        notice((e.code === "rate_limited" ? e.message : "Connection lost. ") + " Retrying " + label + " in " +
          Math.ceil(wait / 1000) + " s…");
        await sleep(wait);
        if (!navigator.onLine) await new Promise(function (r) { window.addEventListener("online", r, { once: true }); });
      }
    }
  }

  var starting = null;       // one session request at a time (page load and an early send share it)
  function startSession(force) {
    if (session && !force) return Promise.resolve(session);
    if (!starting) starting = requestSession(force).finally(function () { starting = null; });
    return starting;
  }
  async function requestSession(force) {
    var saved = load();
    var out = await withRetry(function () {
      return call("POST", "/widget/session", { session_token: saved.token || null,
        customer_token: cfg.customerToken });
    }, "to connect");
    if (!out.resumed && !force) {  // a new conversation: nothing queued for the old one may be sent into it
      update(function (s) { s.pending = []; });
    } else if (!out.resumed && ui.log) {
      bubble("system", "A new conversation has started (your session ended or you signed out).");
    }
    session = { token: out.session_token, id: out.session_id };
    update(function (s) { s.token = out.session_token; s.sessionId = out.session_id; });
    return session;
  }

  async function loadHistory() {
    var h = await withRetry(function () { return call("GET", "/widget/history"); }, "to load the conversation");
    status = h.status;
    h.messages.forEach(renderRecord);
    var last = h.messages[h.messages.length - 1];
    if (last && last.role !== "customer" && last.quick_replies && last.quick_replies.length) quick(last.quick_replies);
    schedulePoll();
    return h;
  }

  // ---- streaming a reply (SSE over fetch) -----------------------------------------------------------
  async function stream(job) {
    var body, h = headers(job.kind !== "photo");
    if (job.kind === "photo") {
      body = new FormData();
      body.append("photo", job.file, job.file.name || "photo.jpg");
      body.append("client_message_id", job.id);
    } else {
      body = JSON.stringify({ text: job.text, client_message_id: job.id });
    }
    var res;
    try {
      res = await fetch(cfg.api + (job.kind === "photo" ? "/widget/photos" : "/widget/messages"),
        { method: "POST", headers: h, body: body, mode: "cors", credentials: "omit" });
    } catch (e) { throw new Failure("retry", "network"); }
    if (!res.ok) throw await failure(res);
    var reader = res.body.getReader(), decoder = new TextDecoder(), buf = "", m = null;
    ui.log.setAttribute("aria-busy", "true");
    try {
      for (;;) {
        var chunk;
        try { chunk = await reader.read(); } catch (e) { throw new Failure("retry", "stream cut"); }
        if (chunk.done) throw new Failure("retry", "stream ended early");
        buf += decoder.decode(chunk.value, { stream: true }).replace(/\r\n/g, "\n");
        var cut;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          var block = buf.slice(0, cut); buf = buf.slice(cut + 2);
          var ev = "message", dataLines = [];
          block.split("\n").forEach(function (line) {
            if (line.indexOf("event:") === 0) ev = line.slice(6).trim();
            else if (line.indexOf("data:") === 0) dataLines.push(line.slice(5).replace(/^ /, ""));
          });
          var d = dataLines.length ? JSON.parse(dataLines.join("\n")) : null;
          if (ev === "token") {
            if (!m) { typing(false); m = bubble("assistant", "", { "data-streaming": "true" }); }
            m.querySelector(".text").textContent += d;
            scroll();
          } else if (ev === "reset") {
            if (m) m.querySelector(".text").textContent = "";
          } else if (ev === "done") {
            if (d.status === "routed") status = "waiting_human";
            if (d.message_id && seenIds[d.message_id]) { if (m) m.remove(); return d; }  // already shown (history)
            if (!m) m = bubble(d.status === "routed" ? "system" : "assistant", "");
            m.removeAttribute("data-streaming");
            finish(m, d);
            return d;
          } else if (ev === "error") {
            if (m) m.remove();
            if (d.retry) throw new Failure("retry", d.message);
            bubble("system", d.message);
            awaiting[job.id] = true;   // saved server-side; the answer comes later through history
            startPolling(4000);
            return d;
          } else if (ev === "pending") {
            if (m) m.remove();
            notice("Still working on your answer…");
            awaiting[job.id] = true;
            startPolling(3000);
            return d;
          }
        }
      }
    } catch (e) {
      if (m) m.remove();  // the retry brings the whole answer back; never show half of it twice
      throw e;
    } finally {
      ui.log.removeAttribute("aria-busy");
    }
  }

  function deliver(job) {
    queue = queue.then(async function () {
      await ready;
      typing(true);
      try {
        await startSession(false);
        await withRetry(function () { return stream(job); }, "your message");
        dropPending(job.id);
      } catch (e) {
        if (e.kind === "fatal") { dropPending(job.id); bubble("system", "Sorry, that couldn't be sent: " + e.message); }
        else notice("We couldn't reach the assistant. Your message is kept and will be sent when you come back.");
      } finally {
        typing(false);
      }
    });
    return queue;
  }

  function send(text) {
    text = String(text || "").trim();
    if (!text) return Promise.resolve();
    if (text.length > cfg.maxChars) {
      notice("Please keep messages under " + cfg.maxChars + " characters.");
      return Promise.resolve();
    }
    var job = { id: newId(), kind: "text", text: text };
    addPending(job);
    seenClient[job.id] = true;
    clearQuick();
    bubble("customer", text, { "data-client-id": job.id });
    return deliver(job);
  }

  function sendPhoto(file) {
    if (!/^image\/(jpeg|png|webp)$/.test(file.type)) {
      bubble("system", "Please send a JPEG, PNG or WebP photo."); return Promise.resolve();
    }
    var job = { id: newId(), kind: "photo", file: file };  // files are not kept across reloads
    seenClient[job.id] = true;
    clearQuick();
    var m = bubble("customer", "\uD83D\uDCF7 Photo sent", { "data-client-id": job.id });
    var url = URL.createObjectURL(file);
    m.appendChild(el("img", { src: url, alt: "Your photo", style: "display:block;max-width:160px;margin-top:6px;border-radius:8px" }));
    return deliver(job);
  }

  function talkToPerson() {
    var id = newId();
    seenClient[id] = true;
    clearQuick();
    bubble("customer", HUMAN_LABEL, { "data-client-id": id });
    queue = queue.then(async function () {
      await ready;
      try {
        await startSession(false);
        var out = await withRetry(function () { return call("POST", "/widget/handoff", { client_message_id: id }); },
          "your request");
        status = "waiting_human";
        var m = bubble("system", "");
        finish(m, { text: out.text, message_id: out.message_id });
        startPolling(4000);
      } catch (e) {
        bubble("system", "Sorry, we couldn't reach our team just now. Please try again.");
      }
    });
    return queue;
  }

  function submit() {
    var text = ui.input.value;
    if (!text.trim()) return;
    ui.input.value = "";
    send(text);
    ui.input.focus();
  }

  // ---- while a person has the conversation: poll for their replies --------------------------------
  function schedulePoll() {
    if (status === "waiting_human" || status === "human" || Object.keys(awaiting).length) startPolling(4000);
    else stopPolling();
  }
  function startPolling(ms) {
    stopPolling();
    pollTimer = setInterval(function () {
      if (ui.panel.hidden) return;
      call("GET", "/widget/history").then(function (h) {
        status = h.status;
        h.messages.forEach(renderRecord);
        if (status !== "waiting_human" && status !== "human" && !Object.keys(awaiting).length) {
          notice(""); stopPolling();
        }
      }).catch(function () { /* next tick */ });
    }, ms);
  }
  function stopPolling() { if (pollTimer) clearInterval(pollTimer); pollTimer = null; }

  // ---- public API -----------------------------------------------------------------------------------
  function open() {
    return ready.then(function () {
      ui.nudge.hidden = true;
      ui.panel.hidden = false;
      ui.root.classList.add("open");
      ui.launcher.setAttribute("aria-expanded", "true");
      scroll();
      ui.input.focus();
      schedulePoll();
    });
  }
  function close() {
    return ready.then(function () {
      ui.panel.hidden = true;
      ui.root.classList.remove("open");
      ui.launcher.setAttribute("aria-expanded", "false");
      ui.launcher.focus();
    });
  }
  function showNudge(text, quickReplies) {
    return ready.then(function () {
      text = String(text || ""); quickReplies = (quickReplies || []).map(String).slice(0, 4);
      if (!ui.panel.hidden) { var m = bubble("assistant", ""); finish(m, { text: text, quick_replies: quickReplies }); return; }
      ui.nudge.textContent = "";
      ui.nudge.appendChild(el("p", { text: text }));
      ui.nudge.appendChild(el("button", { class: "x", type: "button", "aria-label": "Dismiss", text: "\u00D7",
        onclick: function () { ui.nudge.hidden = true; } }));
      if (quickReplies.length) {
        ui.nudge.appendChild(el("div", { class: "quick", role: "group", "aria-label": "Suggested replies" },
          quickReplies.map(function (r) {
            return el("button", { type: "button", text: r, onclick: function () { open(); chooseQuick(r); } });
          })));
      }
      ui.nudge.hidden = false;
    });
  }

  window.SkinSage = {
    __loaded: true, config: cfg, open: open, close: close,
    send: function (t) { return ready.then(function () { return send(t); }); },
    showNudge: showNudge,
    sessionId: function () { return session ? session.id : (load().sessionId || null); }
  };

  async function init() {
    build();
    readyResolve();
    if (cfg.events) {
      var s = document.createElement("script");
      s.src = cfg.api + "/widget/events.js"; s.async = true;
      s.onerror = function () { /* the events snippet is optional */ };
      document.head.appendChild(s);
    }
    try {
      await startSession(false);
      var h = await loadHistory();
      if (!h.messages.length) bubble("assistant", cfg.greeting, { "data-greeting": "true" });
      // messages typed before a reload or a lost connection: resend with the same id (answered once)
      var answered = {};
      h.messages.forEach(function (r) { if (r.reply_to_client_id) answered[r.reply_to_client_id] = true; });
      pending().forEach(function (job) {
        if (answered[job.id]) { dropPending(job.id); return; }
        if (!seenClient[job.id]) { seenClient[job.id] = true; bubble("customer", job.text, { "data-client-id": job.id }); }
        deliver(job);
      });
    } catch (e) {
      notice("The assistant is unavailable right now. Please try again later.");
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();

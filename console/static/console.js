// The agent desk: queue, conversation view and customer panel, kept live over Server-Sent Events.
// All customer text is inserted with textContent, never as HTML.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const me = document.getElementById("who").dataset.username;
  const desk = document.getElementById("desk");
  let current = desk.dataset.conversation || "";
  let canned = [];

  const $ = (id) => document.getElementById(id);
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  async function api(method, path, body) {
    const opts = { method, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" };
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    const r = await fetch("/console/api" + path, opts);
    if (r.status === 401) { window.location = "/console/login"; throw new Error("logged out"); }
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((data.error && data.error.message) || ("HTTP " + r.status));
    return data;
  }
  function flash(text, bad) { const f = $("flash"); f.textContent = text; f.classList.toggle("bad", !!bad); }
  function mins(s) { return s < 60 ? s + " s" : Math.floor(s / 60) + " min"; }

  function queueItem(item, withClaim) {
    const li = el("li", null, "item sla-" + item.sla_state + " prio-" + item.priority);
    li.dataset.conversation = item.conversation_id;
    const a = el("a", item.channel + " · " + (item.customer_id || item.channel_user_id));
    a.href = "/console/c/" + item.conversation_id;
    a.addEventListener("click", (ev) => { ev.preventDefault(); open(item.conversation_id); });
    li.append(a, el("div", item.reason || "", "muted"),
      el("div", item.priority + " · waiting " + mins(item.waiting_s) + " · SLA " + item.sla_state.replace("_", " ")
        + (item.assigned_agent ? " · " + item.assigned_agent : ""), "meta"));
    if (withClaim) {
      const b = el("button", "Claim", "claim");
      b.addEventListener("click", async () => {
        try { await api("POST", "/conversations/" + item.conversation_id + "/claim"); open(item.conversation_id); }
        catch (e) { flash(e.message, true); }
        refreshQueue();
      });
      li.append(b);
    }
    return li;
  }
  async function refreshQueue() {
    const q = await api("GET", "/queue");
    $("waiting-count").textContent = q.waiting.length;
    $("waiting").replaceChildren(...q.waiting.map((i) => queueItem(i, true)));
    $("mine").replaceChildren(...q.mine.map((i) => queueItem(i, false)));
    if ($("held")) $("held").replaceChildren(...q.held.filter((i) => i.assigned_agent !== me).map((i) => queueItem(i, false)));
  }

  function traceBox(trace) {
    const d = el("details", null, "trace");
    d.append(el("summary", "why the bot said this"));
    const tools = (trace.tools || []).map((t) => t.name + (t.ok === false ? " ✗ " + (t.error || "") : "") +
      (t.result_summary ? " → " + t.result_summary : ""));
    const facts = (trace.citations || []).map((c) => c.kind + ": " + c.label);
    const rows = [["planner", trace.planner || ""], ["tools", tools.join("; ") || "none"],
      ["facts", facts.join("; ") || "none"], ["safety", (trace.safety || []).join(", ") || "none"]];
    if (trace.handoff_reason) rows.push(["handoff", trace.handoff_reason]);
    if ((trace.products || []).length) rows.push(["products", trace.products.map((p) => p.name + " (" + p.sku + ")").join("; ")]);
    const dl = el("dl");
    rows.forEach(([k, v]) => { dl.append(el("dt", k), el("dd", v)); });
    d.append(dl);
    return d;
  }
  function renderTranscript(msgs) {
    $("transcript").replaceChildren(...msgs.map((m) => {
      const li = el("li", null, "msg " + (m.direction === "in" ? "in" : "out") + " by-" + m.author.split(":")[0]);
      li.dataset.id = m.id;
      li.append(el("div", m.author + " · " + m.channel + " · " + new Date(m.at).toLocaleString() + " · " + m.status, "meta"),
        el("div", m.text, "text"));
      if (m.trace) li.append(traceBox(m.trace));
      return li;
    }));
    const t = $("transcript"); t.scrollTop = t.scrollHeight;
  }
  function renderCustomer(c) {
    const box = $("customer"); box.replaceChildren(); box.classList.remove("muted");
    const p = c.profile;
    const dl = el("dl");
    [["verified", c.verified ? "yes" : "no (guest)"], ["name", p.name || "—"], ["skin type", p.skin_type || "—"],
     ["concerns", (p.concerns || []).join(", ") || "—"], ["avoid / allergies", (p.avoid || []).join(", ") || "—"],
     ["pregnancy", p.pregnancy]].forEach(([k, v]) => dl.append(el("dt", k), el("dd", v)));
    box.append(dl);
    if (c.segment) {   // RFM as the worker last computed it (null for guests)
      box.append(el("h3", "Segment"));
      const s = c.segment;
      const seg = el("dl", null, "segment"); seg.id = "customer-segment";
      (s.computed
        ? [["segment", s.segment.replace("_", " ")], ["R / F / M", s.r + " / " + s.f + " / " + s.m],
           ["orders · spent", s.frequency + " · " + s.monetary],
           ["last order", s.last_order_on ? s.last_order_on + " (" + s.recency_days + " days ago)" : "—"],
           ["repurchase risk", s.repurchase_risk ? "yes: past their usual reorder" : "no"],
           ["usual cycle", s.expected_gap_days != null ? s.expected_gap_days + " days" : "—"],
           ["computed", new Date(s.computed_at).toLocaleString()]]
        : [["segment", s.note]]).forEach(([k, v]) => seg.append(el("dt", k), el("dd", String(v))));
      box.append(seg);
    }
    if (c.orders.length) {
      box.append(el("h3", "Orders"));
      const ul = el("ul", null, "list");
      c.orders.forEach((o) => ul.append(el("li", o.id + " · " + o.status + " · " + o.total + " " + o.currency + " · " + o.placed_at)));
      box.append(ul);
    }
    if (c.reminders.length) {
      box.append(el("h3", "Reminders"));
      const ul = el("ul", null, "list");
      c.reminders.forEach((r) => ul.append(el("li", r.product_name + " · due " + r.due)));
      box.append(ul);
    }
    if (c.conflicts.length) {
      box.append(el("h3", "Routine conflicts"));
      const ul = el("ul", null, "list");
      c.conflicts.forEach((r) => ul.append(el("li", r.product_a + " + " + r.product_b + ": " + r.reason)));
      box.append(ul);
    }
    if (c.analysis) {
      box.append(el("h3", "Latest skin analysis"), el("div", new Date(c.analysis.created_at).toLocaleDateString() + " · " +
        c.analysis.concerns.map((x) => x.concern || x.name || JSON.stringify(x)).join(", ")));
      if (c.analysis.has_photo) { const img = el("img", null, "photo"); img.alt = "skin photo"; img.src = "/console/api/photos/" + c.analysis.id; box.append(img); }
    }
  }
  async function open(id) {
    current = id;
    if (window.location.pathname !== "/console/c/" + id) history.replaceState(null, "", "/console/c/" + id);
    const d = await api("GET", "/conversations/" + id);
    $("empty").hidden = true; $("conversation").hidden = false;
    const c = d.conversation;
    $("conv-title").textContent = c.channel + " · " + (c.customer_id || c.channel_user_id);
    $("conv-status").textContent = c.status + (c.assigned_agent ? " · " + c.assigned_agent : "");
    $("conv-reason").textContent = d.ticket ? (d.ticket.reason + " · " + d.ticket.priority + " · SLA " + d.ticket.sla_state) : "";
    const mineNow = c.status === "human" && c.assigned_agent === me;
    $("claim").hidden = c.status !== "waiting_human";
    $("resolve").disabled = !mineNow; $("send").disabled = !mineNow; $("reply-text").disabled = !mineNow;
    renderTranscript(d.transcript);
    renderCustomer(d.customer);
    $("notes").replaceChildren(...d.notes.map((n) => el("li", n.author + ": " + n.text)));
  }

  $("claim").addEventListener("click", async () => {
    try { await api("POST", "/conversations/" + current + "/claim"); flash("Claimed."); } catch (e) { flash(e.message, true); }
    open(current); refreshQueue();
  });
  $("resolve").addEventListener("click", async () => {
    try { const r = await api("POST", "/conversations/" + current + "/resolve"); flash(r.csat_asked ? "Handed back; rating asked." : "Handed back."); }
    catch (e) { flash(e.message, true); }
    open(current); refreshQueue();
  });
  $("transfer").addEventListener("click", async () => {
    const to = $("transfer-to").value; if (!to) return;
    try { await api("POST", "/conversations/" + current + "/transfer", { to }); flash("Transferred to " + to + "."); }
    catch (e) { flash(e.message, true); }
    open(current); refreshQueue();
  });
  $("reply-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = $("reply-text").value.trim(); if (!text) return;
    try { await api("POST", "/conversations/" + current + "/reply", { text }); $("reply-text").value = ""; flash("Sent."); }
    catch (e) { flash(e.message, true); }
    open(current);
  });
  $("canned").addEventListener("change", () => {
    const c = canned.find((x) => x.id === $("canned").value);
    if (c) { $("reply-text").value = c.text; $("canned").value = ""; $("reply-text").focus(); }
  });
  $("note-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = $("note-text").value.trim(); if (!text || !current) return;
    try { await api("POST", "/conversations/" + current + "/notes", { text }); $("note-text").value = ""; } catch (e) { flash(e.message, true); }
    open(current);
  });
  $("action-form").addEventListener("submit", async (ev) => {
    ev.preventDefault(); if (!current) return;
    let args = {};
    try { args = $("action-args").value.trim() ? JSON.parse($("action-args").value) : {}; }
    catch (e) { $("action-result").textContent = "The arguments are not valid JSON."; return; }
    try {
      const r = await api("POST", "/conversations/" + current + "/actions/" + $("action-name").value, { args });
      const lines = [r.call.ok ? "ok" : "error: " + r.call.error];
      if (r.call.result_summary) lines.push(r.call.result_summary);
      r.products.forEach((p) => lines.push("• " + p.name + " (" + p.sku + ") " + p.price + " " + p.currency));
      if (Object.keys(r.data).length) lines.push(JSON.stringify(r.data, null, 1));
      $("action-result").textContent = lines.join("\n");
    } catch (e) { $("action-result").textContent = e.message; }
  });
  $("online").addEventListener("change", async () => {
    try { await api("POST", "/me/status", { online: $("online").checked }); } catch (e) { flash(e.message, true); }
    refreshQueue();
  });

  async function loadLists() {
    canned = await api("GET", "/canned");
    $("canned").replaceChildren(el("option", "Canned responses…"), ...canned.map((c) => { const o = el("option", c.title); o.value = c.id; return o; }));
    $("canned").firstChild.value = "";
    const agents = await api("GET", "/agents");
    $("transfer-to").replaceChildren(el("option", "Transfer to…"), ...agents.filter((a) => a.username !== me).map((a) => {
      const o = el("option", a.display_name + (a.online ? "" : " (offline)")); o.value = a.username; return o; }));
    $("transfer-to").firstChild.value = "";
  }

  let timer = null;
  function soon() { if (timer) return; timer = setTimeout(() => { timer = null; refreshQueue(); if (current) open(current); }, 150); }
  function live() {
    const es = new EventSource("/console/api/events");
    es.addEventListener("store", (ev) => {
      const e = JSON.parse(ev.data);
      if (!current || e.conversation_id === current || e.kind.startsWith("handoff")) soon(); else refreshQueue();
    });
    es.onopen = () => { document.body.dataset.live = "on"; };
  }

  loadLists().catch((e) => flash(e.message, true));
  refreshQueue().catch((e) => flash(e.message, true));
  if (current) open(current).catch((e) => flash(e.message, true));
  live();
  setInterval(() => { refreshQueue().catch(() => {}); }, 20000);
})();

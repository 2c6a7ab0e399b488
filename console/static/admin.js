"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  async function post(path, body) {
    const r = await fetch("/console/api" + path, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body) });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((data.error && (data.error.details ? data.error.details.map((d) => d.msg).join("; ") : data.error.message)) || r.status);
    return data;
  }
  function flash(text, bad) { $("flash").textContent = text; $("flash").classList.toggle("bad", !!bad); }
  $("agent-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { username: $("new-username").value, password: $("new-password").value, role: $("new-role").value,
      display_name: $("new-name").value || null };
    if ($("new-capacity").value) body.capacity = Number($("new-capacity").value);
    try { await post("/admin/agents", body); window.location.reload(); } catch (e) { flash(e.message, true); }
  });
  $("canned-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try { await post("/admin/canned", { title: $("canned-title").value, text: $("canned-text").value }); window.location.reload(); }
    catch (e) { flash(e.message, true); }
  });
})();

// The demo page: pickers that re-aim the ticker, and the Web Push opt-in.
// Runs before /ticker.js (both deferred: they run in document order), so
// the ticker starts with the filter in the address
// (?regions=mena&langs=ar).
(() => {
  "use strict";

  const $ = (sel) => document.querySelector(sel);
  const make = (tag, cls) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    return e;
  };
  // The three dimensions of a filter: query key, input name suffix, title,
  // taxonomy key, ticker data attribute.
  const DIMS = [
    { key: "regions", one: "region", title: "Regions", tax: "regions", attr: "data-regions" },
    { key: "topics", one: "topic", title: "Topics", tax: "topics", attr: "data-topics" },
    { key: "langs", one: "lang", title: "Languages", tax: "languages", attr: "data-lang" },
  ];
  const emptyFilter = () => ({ regions: [], topics: [], langs: [] });

  let taxonomy = null;
  const names = {}; // "regions:mena" → "MENA"

  // ---------------------------------------------------------------- ticker

  const ticker = $("#ticker");

  function tickerFilterFromURL() {
    const q = new URLSearchParams(location.search);
    const f = emptyFilter();
    for (const d of DIMS) f[d.key] = (q.get(d.key) || "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
    return f;
  }

  function aimTicker(f) {
    for (const d of DIMS) {
      if (f[d.key].length) ticker.setAttribute(d.attr, f[d.key].join(","));
      else ticker.removeAttribute(d.attr);
    }
    showEmbed(f);
  }

  // attr escapes a value for a double-quoted attribute of the embed code:
  // the code is HTML that a site pastes in, and the filter may come from the
  // address, so no value may close the quote or open a tag.
  const ESCAPES = { "&": "&amp;", '"': "&quot;", "'": "&#39;", "<": "&lt;", ">": "&gt;" };
  const attr = (v) => String(v).replace(/[&"'<>]/g, (c) => ESCAPES[c]);

  // showEmbed shows the embed code as text (never parsed here).
  function showEmbed(f) {
    let attrs = "";
    for (const d of DIMS) if (f[d.key].length) attrs += ` ${d.attr}="${attr(f[d.key].join(","))}"`;
    $("#embed-code").textContent =
      `<div data-newsflash-ticker${attrs}></div>\n<script src="${attr(location.origin + "/ticker.js")}" async></script>`;
  }

  function restartTicker() {
    const t = ticker.newsflashTicker;
    if (t) t.restart();
    else if (window.Newsflash) window.Newsflash.mount(ticker);
  }

  // The filter in the address wins until the taxonomy says which slugs exist.
  aimTicker(tickerFilterFromURL());

  $("#embed-copy").addEventListener("click", async (e) => {
    const btn = e.currentTarget;
    try {
      await navigator.clipboard.writeText($("#embed-code").textContent);
      btn.textContent = "Copied";
    } catch {
      btn.textContent = "Select the code and copy it";
    }
    setTimeout(() => (btn.textContent = "Copy code"), 2000);
  });

  // --------------------------------------------------------------- pickers

  // pickers fills form with one fieldset of checkboxes per dimension, named
  // PREFIX-region, PREFIX-topic, PREFIX-lang, with the slug as value.
  function pickers(form, chosen) {
    const prefix = form.dataset.prefix;
    const sets = DIMS.map((d) => {
      const fs = make("fieldset", "picker");
      const legend = make("legend");
      legend.textContent = d.title;
      const chips = make("div", "chips");
      for (const t of taxonomy[d.tax] || []) {
        const label = make("label", "chip");
        const input = make("input");
        input.type = "checkbox";
        input.name = `${prefix}-${d.one}`;
        input.value = t.slug;
        input.checked = chosen[d.key].includes(t.slug);
        const name = make("span");
        name.textContent = t.name || t.slug;
        if (d.key === "langs") {
          name.lang = t.slug;
          name.dir = t.dir === "rtl" || t.dir === "ltr" ? t.dir : "auto";
        }
        label.append(input, name);
        chips.append(label);
      }
      fs.append(legend, chips);
      return fs;
    });
    form.replaceChildren(...sets);
  }

  function chosen(form) {
    const f = emptyFilter();
    for (const d of DIMS) {
      f[d.key] = [...form.querySelectorAll(`input[name="${form.dataset.prefix}-${d.one}"]:checked`)].map((i) => i.value);
    }
    return f;
  }

  // known keeps only the slugs the taxonomy has.
  function known(f) {
    const out = emptyFilter();
    for (const d of DIMS) {
      const slugs = new Set((taxonomy[d.tax] || []).map((t) => t.slug));
      out[d.key] = (Array.isArray(f && f[d.key]) ? f[d.key] : []).filter((s) => slugs.has(s));
    }
    return out;
  }

  function describe(f) {
    // Names are isolated (FSI … PDI) so an Arabic one keeps its place.
    const part = (d, all) => (f[d.key].length ? f[d.key].map((s) => `\u2068${names[d.key + ":" + s] || s}\u2069`).join(", ") : all);
    return [part(DIMS[0], "all regions"), part(DIMS[1], "all topics"), part(DIMS[2], "all languages")].join(" · ");
  }

  async function loadTaxonomy() {
    const form = $("#ticker-form");
    try {
      const res = await fetch("/api/v1/taxonomy");
      if (!res.ok) throw new Error(String(res.status));
      taxonomy = await res.json();
    } catch {
      form.replaceChildren(make("p"));
      form.firstChild.className = "error";
      form.firstChild.textContent = "Couldn't load the regions and topics. Reload the page to try again.";
      return false;
    }
    for (const d of DIMS) for (const t of taxonomy[d.tax] || []) names[d.key + ":" + t.slug] = t.name || t.slug;
    const asked = tickerFilterFromURL();
    const f = known(asked);
    pickers(form, f);
    aimTicker(f);
    if (JSON.stringify(f) !== JSON.stringify(asked)) restartTicker(); // unknown slugs dropped
    form.addEventListener("change", () => {
      const f = chosen(form);
      aimTicker(f);
      const q = new URLSearchParams();
      for (const d of DIMS) if (f[d.key].length) q.set(d.key, f[d.key].join(","));
      const search = q.toString();
      history.replaceState(null, "", search ? "?" + search.replace(/%2C/g, ",") : location.pathname);
      restartTicker();
    });
    return true;
  }

  // ------------------------------------------------------------------ push

  const status = $("#nf-push-status");
  const toggle = $("#nf-push-toggle");
  const pushForm = $("#push-form");
  const API = "/api/v1/push/subscriptions";
  let vapidKey = ""; // base64url
  let sub = null; // the PushSubscription, when alerts are on
  let busy = false;

  function say(text, kind) {
    status.textContent = text;
    status.dataset.kind = kind || "";
  }

  // unavailable shows a message instead of the control.
  function unavailable(text) {
    const c = $("#push-controls");
    if (c) c.remove();
    say(text, "warn");
  }

  function showToggle() {
    toggle.textContent = sub ? "Turn off alerts" : "Get breaking news alerts";
    toggle.dataset.on = String(!!sub);
    toggle.classList.toggle("secondary", !!sub);
    toggle.disabled = busy || (!sub && Notification.permission === "denied");
  }

  const fromB64url = (s) => {
    const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    return Uint8Array.from(b, (c) => c.charCodeAt(0));
  };

  function sameKey(s) {
    const k = s.options && s.options.applicationServerKey;
    if (!k) return true; // the browser does not say: assume so
    const a = new Uint8Array(k), b = fromB64url(vapidKey);
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }

  async function apiError(res) {
    const body = await res.json().catch(() => null);
    return (body && body.error && body.error.message) || `The server answered ${res.status}.`;
  }

  // The chosen filter is kept in the Cache API, where the service worker
  // reads it when the browser renews the subscription.
  async function saveFilter(f) {
    try {
      const cache = await caches.open("newsflash");
      await cache.put("/push-filter", new Response(JSON.stringify(f), { headers: { "Content-Type": "application/json" } }));
    } catch {
      // no Cache API (private mode): the server still has the filter
    }
  }

  async function savedFilter() {
    try {
      const res = await (await caches.open("newsflash")).match("/push-filter");
      return res ? await res.json() : null;
    } catch {
      return null;
    }
  }

  // register posts the subscription with the filter: 201 new, 200 replaced.
  async function register(s, f) {
    await saveFilter(f);
    const res = await fetch(API, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ subscription: s.toJSON(), filter: f }),
    });
    if (!res.ok) throw new Error(await apiError(res));
  }

  // subscribe asks the browser's push service for a subscription, giving up
  // when it does not answer (some browsers have none to reach).
  async function subscribe() {
    const reg = await navigator.serviceWorker.ready;
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error("the browser's push service did not answer. Try again later.")), 20000);
    });
    try {
      return await Promise.race([
        reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromB64url(vapidKey) }),
        late,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function turnOn() {
    const perm = await Notification.requestPermission();
    if (perm !== "granted") {
      say(perm === "denied"
        ? "Notifications are blocked for this site. Allow them in your browser's site settings, then try again."
        : "Alerts need your permission to show notifications.", "warn");
      return;
    }
    say("Turning alerts on…");
    const s = await subscribe();
    const f = chosen(pushForm);
    try {
      await register(s, f);
    } catch (e) {
      await s.unsubscribe().catch(() => {});
      throw e;
    }
    sub = s;
    say(`Alerts are on: ${describe(f)}.`, "ok");
  }

  async function turnOff() {
    say("Turning alerts off…");
    const s = sub;
    const keys = s.toJSON().keys || {};
    // 404 means the server had forgotten it already. Unsubscribe in the
    // browser anyway: the push service then refuses the server's sends and
    // the server drops the subscription.
    await fetch(API, {
      method: "DELETE",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ endpoint: s.endpoint, auth: keys.auth }),
    }).catch(() => {});
    await s.unsubscribe();
    sub = null;
    say("Alerts are off.");
  }

  async function act(fn) {
    busy = true;
    showToggle();
    try {
      await fn();
    } catch (e) {
      say(`Couldn't change your alerts: ${(e && e.message) || e}`, "error");
    } finally {
      busy = false;
      showToggle();
    }
  }

  let changeTimer = 0;
  function filterChanged() {
    const f = chosen(pushForm);
    clearTimeout(changeTimer);
    if (!sub) {
      saveFilter(f);
      return;
    }
    say("Saving your choices…");
    changeTimer = setTimeout(() => act(async () => {
      await register(sub, f);
      say(`Alerts updated: ${describe(f)}.`, "ok");
    }), 400);
  }

  async function initPush() {
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
      unavailable("This browser can't receive breaking news alerts. A current Chrome, Edge, Firefox or Safari can.");
      return;
    }
    let res;
    try {
      res = await fetch("/api/v1/push/key");
    } catch {
      unavailable("Couldn't reach Newsflash to set up alerts. Reload the page to try again.");
      return;
    }
    const body = await res.json().catch(() => null);
    if (res.status === 503 && body && body.error && body.error.code === "push_disabled") {
      unavailable("Breaking news alerts are off on this server. Its operator turns them on by starting it with " +
        "--vapid-subject mailto:you@your-newsroom.example (or the environment variable NEWSFLASH_VAPID_SUBJECT).");
      return;
    }
    if (res.status === 503) {
      unavailable("Breaking news alerts are not available on this server right now. Reload the page later to try again.");
      return;
    }
    if (!res.ok || !body || typeof body.public_key !== "string") {
      unavailable("Alerts can't be set up right now. Reload the page to try again.");
      return;
    }
    vapidKey = body.public_key;

    const f = known(await savedFilter());
    pickers(pushForm, f);
    pushForm.addEventListener("change", filterChanged);
    toggle.addEventListener("click", () => act(sub ? turnOff : turnOn));
    $("#push-controls").hidden = false;
    showToggle();

    let reg;
    try {
      reg = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    } catch (e) {
      unavailable(`Alerts can't be set up in this browser: ${(e && e.message) || e}`);
      return;
    }
    sub = await reg.pushManager.getSubscription().catch(() => null);
    if (sub && Notification.permission !== "granted") {
      await sub.unsubscribe().catch(() => {});
      sub = null;
    }
    showToggle();
    if (!sub) {
      say(Notification.permission === "denied"
        ? "Notifications are blocked for this site. Allow them in your browser's site settings to get alerts."
        : "Alerts are off. Choose what you care about, then turn them on.");
      return;
    }
    // On every visit: post the subscription again so the server has it
    // fresh (and get a new one if the server's key changed).
    await act(async () => {
      if (!sameKey(sub)) {
        await sub.unsubscribe().catch(() => {});
        sub = null;
        sub = await subscribe();
      }
      await register(sub, f);
      say(`Alerts are on: ${describe(f)}.`, "ok");
    });
  }

  loadTaxonomy().then((ok) => {
    if (ok) initPush();
    else unavailable("Alerts can't be set up until the page loads fully. Reload to try again.");
  });
})();

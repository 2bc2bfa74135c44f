// The demo page: pickers that re-aim the ticker, the Web Push opt-in with
// its settings (priority, quiet hours, hourly cap), and the open stories a
// reader may follow. Runs before /ticker.js (both deferred: they run in
// document order), so the ticker starts with the filter in the address
// (?regions=mena&langs=ar, ?stories=war-on-gaza).
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
  const slugList = (v) => (v || "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);

  let taxonomy = null;
  const names = {}; // "regions:mena" → "MENA"

  // ---------------------------------------------------------------- ticker

  const ticker = $("#ticker");

  function tickerFilterFromURL() {
    const q = new URLSearchParams(location.search);
    const f = emptyFilter();
    for (const d of DIMS) f[d.key] = slugList(q.get(d.key));
    return f;
  }

  // The ticker's stories (data-stories) are not in the taxonomy: they come
  // from the address and the story list (a story's link is ?stories=slug).
  let tickerStories = slugList(new URLSearchParams(location.search).get("stories"));
  let tickerFilter = emptyFilter();

  function aimTicker(f) {
    tickerFilter = f;
    for (const d of DIMS) {
      if (f[d.key].length) ticker.setAttribute(d.attr, f[d.key].join(","));
      else ticker.removeAttribute(d.attr);
    }
    if (tickerStories.length) ticker.setAttribute("data-stories", tickerStories.join(","));
    else ticker.removeAttribute("data-stories");
    showEmbed(f);
  }

  // tickerAddress puts the ticker's filter in the address bar.
  function tickerAddress() {
    const q = new URLSearchParams();
    for (const d of DIMS) if (tickerFilter[d.key].length) q.set(d.key, tickerFilter[d.key].join(","));
    if (tickerStories.length) q.set("stories", tickerStories.join(","));
    const search = q.toString();
    history.replaceState(null, "", search ? "?" + search.replace(/%2C/g, ",") : location.pathname);
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
    if (tickerStories.length) attrs += ` data-stories="${attr(tickerStories.join(","))}"`;
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
    tickerStoryPicker();
    aimTicker(f);
    if (JSON.stringify(f) !== JSON.stringify(asked)) restartTicker(); // unknown slugs dropped
    form.addEventListener("change", () => {
      const f = chosen(form);
      if (form.querySelector(".picker-stories")) {
        tickerStories = [...form.querySelectorAll('input[name="ticker-story"]:checked')].map((i) => i.value);
      }
      aimTicker(f);
      tickerAddress();
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
  let pushReady = false; // the controls are up (push works here)

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

  // apiError turns an error answer into an Error with the API's field.
  async function apiError(res) {
    const body = await res.json().catch(() => null);
    const e = (body && body.error) || {};
    const err = new Error(typeof e.message === "string" && e.message ? e.message : `The server answered ${res.status}.`);
    err.field = typeof e.field === "string" ? e.field : "";
    return err;
  }

  // ------------------------------------------------------------- settings

  // The reader's alert settings, kept in localStorage (shown again on the
  // next visit) and sent as the subscription's prefs. Quiet hours are in
  // the browser's time zone.
  const PREFS_KEY = "newsflash-alert-prefs";
  const PRIORITIES = ["breaking", "urgent", "flash"];
  const zone = (() => {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    } catch {
      return "UTC";
    }
  })();
  const HHMM = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
  const defaultPrefs = () => ({ min_priority: "breaking", quiet: false, from: "22:00", to: "07:00", max_per_hour: 0, stories: [] });

  function loadPrefs() {
    const p = defaultPrefs();
    let saved = null;
    try {
      saved = JSON.parse(localStorage.getItem(PREFS_KEY) || "null");
    } catch {
      saved = null;
    }
    if (!saved || typeof saved !== "object") return p;
    if (PRIORITIES.includes(saved.min_priority)) p.min_priority = saved.min_priority;
    p.quiet = saved.quiet === true;
    if (HHMM.test(saved.from)) p.from = saved.from;
    if (HHMM.test(saved.to)) p.to = saved.to;
    if (Number.isInteger(saved.max_per_hour)) p.max_per_hour = saved.max_per_hour;
    if (Array.isArray(saved.stories)) p.stories = saved.stories.filter((s) => typeof s === "string");
    return p;
  }

  let prefs = loadPrefs();

  function storePrefs(p) {
    prefs = p;
    try {
      localStorage.setItem(PREFS_KEY, JSON.stringify(p));
    } catch {
      // no storage (private mode): the server still has them
    }
  }

  // apiPrefs is the prefs object of POST /api/v1/push/subscriptions.
  const apiPrefs = (p) => ({
    min_priority: p.min_priority,
    quiet_hours: p.quiet ? { from: p.from, to: p.to, tz: zone } : null,
    max_per_hour: p.max_per_hour,
    stories: p.stories,
  });

  function showPrefs(p) {
    $("#prefs-min").value = p.min_priority;
    $("#prefs-quiet").checked = p.quiet;
    $("#prefs-from").value = p.from;
    $("#prefs-to").value = p.to;
    $("#prefs-cap").value = String(p.max_per_hour);
    $("#prefs-tz").textContent = zone;
    quietShown();
  }

  function quietShown() {
    const on = $("#prefs-quiet").checked;
    $("#prefs-from").disabled = $("#prefs-to").disabled = !on;
  }

  // formPrefs reads the settings form as typed: the server judges the
  // values (a cap of 61 is its error to give, next to the field).
  function formPrefs() {
    const cap = $("#prefs-cap").value.trim();
    return {
      min_priority: $("#prefs-min").value,
      quiet: $("#prefs-quiet").checked,
      from: $("#prefs-from").value,
      to: $("#prefs-to").value,
      max_per_hour: cap === "" ? 0 : Number(cap),
      stories: prefs.stories,
    };
  }

  function describePrefs(p) {
    const parts = [{ breaking: "all alerts", urgent: "urgent and flash only", flash: "flash only" }[p.min_priority] || p.min_priority];
    if (p.quiet) parts.push(`quiet ${p.from}–${p.to} (${zone})`);
    if (p.max_per_hour > 0) parts.push(`at most ${p.max_per_hour} an hour`);
    if (p.stories.length) parts.push(`following ${p.stories.length} ${p.stories.length === 1 ? "story" : "stories"}`);
    return parts.join(" · ");
  }

  function clearFieldErrors() {
    for (const e of document.querySelectorAll("[data-error-for]")) e.textContent = "";
  }

  // fieldError shows an API error next to the field it names (or the
  // nearest enclosing one: prefs.quiet_hours for prefs.quiet_hours.x);
  // false when the page has no such field.
  function fieldError(field, message) {
    for (let f = field; f; f = f.includes(".") ? f.slice(0, f.lastIndexOf(".")) : "") {
      const el = document.querySelector(`[data-error-for="${CSS.escape(f)}"]`);
      if (el) {
        el.textContent = message;
        return true;
      }
    }
    return false;
  }

  // The chosen filter (and the settings, as posted: /push-prefs) are kept
  // in the Cache API, where the service worker reads them when the browser
  // renews the subscription.
  async function saveFilter(f, p) {
    try {
      const cache = await caches.open("newsflash");
      const json = (v) => new Response(JSON.stringify(v), { headers: { "Content-Type": "application/json" } });
      await cache.put("/push-filter", json(f));
      if (p) await cache.put("/push-prefs", json(p));
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

  // register posts the subscription with the filter and the settings:
  // 201 new, 200 replaced.
  async function register(s, f, p) {
    const res = await fetch(API, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ subscription: s.toJSON(), filter: f, prefs: apiPrefs(p) }),
    });
    if (!res.ok) throw await apiError(res);
    await saveFilter(f, apiPrefs(p));
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
    const p = formPrefs();
    try {
      await register(s, f, p);
    } catch (e) {
      await s.unsubscribe().catch(() => {});
      throw e;
    }
    sub = s;
    storePrefs(p);
    showFollows();
    say(`Alerts are on: ${describe(f)}; ${describePrefs(p)}.`, "ok");
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
    showFollows();
    say("Alerts are off.");
  }

  // act runs one change of the alerts at a time; an error that names a
  // field is shown next to it too. It answers fn's error, null if none.
  async function act(fn) {
    busy = true;
    showToggle();
    clearFieldErrors();
    try {
      await fn();
      return null;
    } catch (e) {
      if (e && e.field) fieldError(e.field, e.message);
      say(`Couldn't change your alerts: ${(e && e.message) || e}`, "error");
      return e || new Error("unknown");
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
      await register(sub, f, prefs);
      say(`Alerts updated: ${describe(f)}.`, "ok");
    }), 400);
  }

  // savePrefs posts the subscription again with the settings as typed;
  // they are kept only once the server took them. With alerts off they
  // are kept for when alerts are turned on.
  async function savePrefs(e) {
    e.preventDefault();
    if (busy) return;
    const p = formPrefs();
    clearFieldErrors();
    if (!sub) {
      storePrefs(p);
      say("Settings saved. They apply when you turn alerts on.");
      return;
    }
    say("Saving your settings…");
    await act(async () => {
      await register(sub, chosen(pushForm), p);
      storePrefs(p);
      say(`Alert settings saved: ${describePrefs(p)}.`, "ok");
    });
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
    showPrefs(prefs);
    $("#prefs-quiet").addEventListener("change", quietShown);
    $("#prefs-form").addEventListener("submit", savePrefs);
    $("#push-controls").hidden = false;
    pushReady = true;
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
    showFollows();
    if (!sub) {
      say(Notification.permission === "denied"
        ? "Notifications are blocked for this site. Allow them in your browser's site settings to get alerts."
        : "Alerts are off. Choose what you care about, then turn them on.");
      return;
    }
    // On every visit: post the subscription again so the server has it
    // fresh (and get a new one if the server's key changed). Follows of
    // stories closed since are dropped first (the server refuses them).
    await storiesLoaded;
    await act(async () => {
      if (!sameKey(sub)) {
        await sub.unsubscribe().catch(() => {});
        sub = null;
        sub = await subscribe();
      }
      await register(sub, f, prefs);
      say(`Alerts are on: ${describe(f)}; ${describePrefs(prefs)}.`, "ok");
    });
    showFollows();
  }

  // -------------------------------------------------------------- stories

  const storyList = $("#story-list");
  const storyStatus = $("#stories-status");
  let stories = null; // the open stories, newest first; null: not loaded
  const RTL = /^(ar|fa|he|ur|ps|ckb|yi|dv)(-|$)/i;

  function storySay(text, kind) {
    storyStatus.textContent = text;
    storyStatus.dataset.kind = kind || "";
  }

  // storyTitle picks the title in the page's language, else the first.
  function storyTitle(s) {
    const t = s.title && typeof s.title === "object" ? s.title : {};
    const page = (document.documentElement.lang || "en").slice(0, 2);
    const lang = typeof t[page] === "string" ? page : Object.keys(t).find((k) => typeof t[k] === "string");
    return lang ? { lang, text: t[lang] } : { lang: "", text: s.slug };
  }

  function renderStories() {
    storyList.setAttribute("aria-busy", "false");
    storyList.replaceChildren(...stories.map((s) => {
      const li = make("li", "story");
      li.dataset.slug = s.slug;
      const title = storyTitle(s);
      const a = make("a", "story-title");
      a.href = "?stories=" + encodeURIComponent(s.slug);
      a.addEventListener("click", (e) => {
        e.preventDefault();
        tickerOnStory(s.slug);
      });
      a.textContent = title.text;
      if (title.lang) {
        a.lang = title.lang;
        a.dir = RTL.test(title.lang) ? "rtl" : "ltr";
      }
      const btn = make("button", "button secondary follow");
      btn.type = "button";
      btn.dataset.slug = s.slug;
      btn.addEventListener("click", () => follow(s.slug));
      li.append(a, btn);
      return li;
    }));
    showFollows();
  }

  // showFollows marks each story's button: "Following" for the followed
  // ones while alerts are on.
  function showFollows() {
    for (const btn of storyList.querySelectorAll("button.follow")) {
      const on = !!sub && prefs.stories.includes(btn.dataset.slug);
      btn.textContent = on ? "Following" : "Follow this story";
      btn.setAttribute("aria-pressed", String(on));
      btn.classList.toggle("secondary", !on);
    }
  }

  async function follow(slug) {
    if (busy) return;
    if (!pushReady) {
      storySay("Following a story needs alerts, and they can't be set up here (see above).", "warn");
      return;
    }
    if (!sub) {
      storySay("Alerts are off. Turn them on above, then follow a story.", "warn");
      return;
    }
    const on = prefs.stories.includes(slug);
    const p = { ...prefs, stories: on ? prefs.stories.filter((s) => s !== slug) : [...prefs.stories, slug] };
    storySay(on ? "Unfollowing…" : "Following…");
    const err = await act(async () => {
      await register(sub, chosen(pushForm), p);
      storePrefs(p);
      say(`Alerts updated: ${describePrefs(p)}.`, "ok");
    });
    showFollows();
    const title = storyTitle(stories.find((s) => s.slug === slug) || { slug }).text;
    if (!err) storySay(on ? `You no longer follow \u2068${title}\u2069.` : `You follow \u2068${title}\u2069: each new line of it is an alert.`, "ok");
    else storySay(`Couldn't change what you follow: ${err.message || err}`, "error");
  }

  // tickerOnStory does what the story's link (?stories=slug) does, without
  // loading the page again: the ticker shows that story alone.
  function tickerOnStory(slug) {
    tickerStories = [slug];
    const form = $("#ticker-form");
    for (const i of form.querySelectorAll("input[type=checkbox]")) i.checked = i.name === "ticker-story" && i.value === slug;
    aimTicker(emptyFilter());
    tickerAddress();
    restartTicker();
    ticker.scrollIntoView({ block: "nearest" });
  }

  // tickerStoryPicker adds a Story group to the ticker's pickers, once
  // both the taxonomy and the stories are in.
  function tickerStoryPicker() {
    const form = $("#ticker-form");
    if (!taxonomy || !stories || !form.querySelector(".picker")) return;
    form.querySelector(".picker-stories")?.remove();
    if (!stories.length) return;
    const fs = make("fieldset", "picker picker-stories");
    const legend = make("legend");
    legend.textContent = "Stories";
    const chips = make("div", "chips");
    for (const s of stories) {
      const label = make("label", "chip");
      const input = make("input");
      input.type = "checkbox";
      input.name = "ticker-story";
      input.value = s.slug;
      input.checked = tickerStories.includes(s.slug);
      const title = storyTitle(s);
      const name = make("span");
      name.textContent = title.text;
      if (title.lang) {
        name.lang = title.lang;
        name.dir = RTL.test(title.lang) ? "rtl" : "ltr";
      }
      label.append(input, name);
      chips.append(label);
    }
    fs.append(legend, chips);
    form.append(fs);
  }

  async function loadStories() {
    let body = null;
    try {
      const res = await fetch("/api/v1/stories");
      if (res.status === 404) {
        storyList.setAttribute("aria-busy", "false");
        storySay("This server has no stories to follow.");
        return;
      }
      if (!res.ok) throw new Error(String(res.status));
      body = await res.json();
    } catch {
      storyList.setAttribute("aria-busy", "false");
      storySay("Couldn't load the stories. Reload the page to try again.", "error");
      return;
    }
    stories = (Array.isArray(body && body.stories) ? body.stories : [])
      .filter((s) => s && typeof s.slug === "string" && s.status !== "closed");
    const open = new Set(stories.map((s) => s.slug));
    // A closed story ends its follows, and the ticker's.
    if (prefs.stories.some((s) => !open.has(s))) storePrefs({ ...prefs, stories: prefs.stories.filter((s) => open.has(s)) });
    const asked = tickerStories;
    tickerStories = asked.filter((s) => open.has(s));
    if (tickerStories.length !== asked.length) {
      aimTicker(tickerFilter);
      tickerAddress();
      restartTicker();
    }
    renderStories();
    tickerStoryPicker();
    storySay(stories.length ? "" : "No stories are open right now.");
  }

  const storiesLoaded = loadStories();

  loadTaxonomy().then((ok) => {
    if (ok) initPush();
    else unavailable("Alerts can't be set up until the page loads fully. Reload to try again.");
  });
})();

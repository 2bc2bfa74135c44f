/* Newsflash ticker: <div data-newsflash-ticker data-regions="mena" data-lang="en">
 * <script src="https://server/ticker.js" async></script> (or type="module").
 * Item text is only ever set as text. el.newsflashTicker.restart() re-reads
 * data-*. A classic script, so that the tag sites already have keeps working;
 * it loads the shared reader client, a module, with import() from beside
 * itself, fetched with CORS (the server allows any origin to read scripts). */
(() => {
  "use strict";
  // Our own element: only while a classic script first runs (null for a
  // module, whose relative import() resolves against the module itself).
  const me = document.currentScript;
  const near = (p) => (me ? new URL(p, me.src).href : p);
  let Reader, scriptBase; // from reader.js

  const MAX = 20; // items kept
  const SPEED = 45; // px per second
  const RTL = /^(ar|fa|he|ur|ps|ckb|yi|dv)(-|$)/i;
  // label, pause, region name, connecting, nothing yet (the flash and
  // urgent tags are in titles.js)
  const WORDS = {
    en: ["Breaking", "Pause", "Breaking news", "Connecting…", "No breaking news right now"],
    ar: ["خبر عاجل", "إيقاف مؤقت", "أخبار عاجلة", "جارٍ الاتصال…", "لا أخبار عاجلة الآن"],
    es: ["Último momento", "Pausa", "Noticias de última hora", "Conectando…", "No hay noticias de última hora"],
  };
  const words = (lang) => WORDS[lang.slice(0, 2)] || WORDS.en;
  const dirOf = (lang) => (RTL.test(lang) ? "rtl" : "ltr");

  const h = (tag, cls, attrs) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  };
  const slugs = (v) => (v || "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean).join(",");
  const httpURL = (u) => { try { const x = new URL(u); return /^https?:$/.test(x.protocol) ? x.href : ""; } catch { return ""; } };
  const langOf = (l) => { try { return Intl.getCanonicalLocales(l).length ? l : "en"; } catch { return "en"; } };
  // setText edits a lone text node in place (no addition to announce).
  const setText = (el, s) => {
    const t = el.firstChild;
    if (t && t.nodeType === 3 && !t.nextSibling) { if (t.data !== s) t.data = s; } else el.textContent = s;
  };

  const fmts = {};
  function ago(iso, lang, now) {
    const t = Date.parse(iso), s = Math.max(0, (now - t) / 1000);
    if (isNaN(t)) return "";
    if (s >= 604800) return new Date(t).toLocaleDateString(lang, { day: "numeric", month: "short" });
    const f = (fmts[lang] ||= new Intl.RelativeTimeFormat(lang, { numeric: "auto", style: "short" }));
    const out = s < 60 ? f.format(0, "second") : s < 3600 ? f.format(-Math.floor(s / 60), "minute")
      : s < 86400 ? f.format(-Math.floor(s / 3600), "hour") : f.format(-Math.floor(s / 86400), "day");
    return /^en/.test(lang) ? out.replace(/\./g, "").replace(/^now$/, "just now") : out;
  }

  function loadCSS(base) {
    const href = new URL(base + "/static/ticker.css", location.href).href;
    for (const l of document.querySelectorAll('link[rel~="stylesheet"]')) if (l.href === href) return;
    const head = document.head || document.documentElement; // first: page rules win
    head.insertBefore(h("link", "", { rel: "stylesheet", href }), head.firstChild);
  }

  class Ticker {
    constructor(el) {
      this.el = el;
      el.newsflashTicker = this;
      this.paused = false;
      this.hover = false;
      this.reduce = matchMedia("(prefers-reduced-motion: reduce)");
      this.reduce.addEventListener?.("change", () => this.kick(true));
      this.reader = new Reader({
        query: () => this.query(),
        onSnapshot: (items) => this.commit(items),
        onEvent: (type, item) => this.frame(type, item),
        onState: (s, info) => this.connection(s, info),
      });
      this.start();
    }

    base() {
      const s = this.el.getAttribute("data-src");
      return s ? new URL(s, location.href).href.replace(/\/+$/, "") : scriptBase;
    }

    query() {
      const d = this.el.dataset, q = new URLSearchParams();
      for (const [k, v] of [["regions", d.regions], ["topics", d.topics], ["langs", d.langs || d.lang], ["stories", d.stories]]) if (slugs(v)) q.set(k, slugs(v));
      return q;
    }

    // build lays the bar out in the filter's language when it names one.
    build() {
      const el = this.el;
      const langs = slugs(el.dataset.langs || el.dataset.lang).split(",");
      const lang = langs.length === 1 ? langOf(langs[0]) : "en";
      const w = (this.w = words(lang));
      el.classList.add("nf-ticker");
      if (!el.role) el.role = "region";
      if (!el.hasAttribute("aria-label") || el.nfLabel) el.setAttribute("aria-label", (el.nfLabel = w[2]));
      const label = h("span", "nf-label", { lang, dir: dirOf(lang) });
      label.textContent = w[0];
      const view = (this.view = h("div", "nf-viewport"));
      this.list = h("ul", "nf-list", { "aria-live": "polite", "aria-relevant": "additions" });
      this.empty = h("span", "nf-empty", { lang, dir: dirOf(lang) });
      view.append(this.list, this.empty);
      this.btn = h("button", "nf-pause", { type: "button", "aria-pressed": "" + this.paused, "aria-label": w[1], lang });
      this.btn.addEventListener("click", () => this.pause(!this.paused));
      el.replaceChildren(label, view, this.btn);
      this.rtl = getComputedStyle(el).direction === "rtl";
      const hover = (on) => () => { this.hover = on; this.kick(); };
      view.addEventListener("pointerenter", hover(true));
      view.addEventListener("pointerleave", hover(false));
      view.addEventListener("focusin", (e) => this.reveal(e.target.closest(".nf-item")));
      view.addEventListener("focusout", () => setTimeout(() => this.kick()));
      if (window.ResizeObserver) {
        this.resize = new ResizeObserver(() => this.kick(true));
        this.resize.observe(view);
        this.resize.observe(this.list);
      }
    }

    start() {
      this.stop();
      this.stopped = false;
      this.items = new Map(); // id → item
      this.nodes = new Map(); // id → li
      this.x = 0; // scroll offset, px
      loadCSS(this.base());
      this.build();
      this.render();
      this.reader.base = this.base();
      this.reader.start();
      this.clock = setInterval(() => this.times(), 30000);
    }

    restart() { this.start(); }

    stop() {
      this.stopped = true;
      this.reader.stop();
      clearInterval(this.clock);
      cancelAnimationFrame(this.raf);
      this.raf = 0;
      this.resize?.disconnect();
    }

    pause(on) {
      this.paused = !!on;
      this.btn.setAttribute("aria-pressed", "" + this.paused);
      this.state();
      this.kick();
    }

    state() {
      if (!this.btn) return; // not built yet
      this.el.setAttribute("data-state", this.paused ? "paused" : this.live ? "live" : "connecting");
      setText(this.empty, this.w[this.live ? 4 : 3]);
      this.empty.hidden = this.items.size > 0;
    }

    connection(s, info) {
      this.live = s === "live";
      if (info.transport) this.el.setAttribute("data-transport", info.transport);
      this.list?.setAttribute("aria-busy", "" + info.loading);
      this.state();
    }

    frame(type, item) {
      const old = this.items.get(item.id);
      if (type === "retract" || item.status === "retracted") this.items.delete(item.id);
      else if (!(old && old.version > item.version)) {
        this.items.set(item.id, item);
        if (!old && type === "item") this.x = 0; // show a new item at once
      }
      this.render();
    }

    commit(items) {
      this.items = new Map(items.filter((i) => i.status !== "retracted").map((i) => [i.id, i]));
      this.x = 0;
      this.render();
    }

    render() {
      const sorted = [...this.items.values()].sort((a, b) => (b.published_seq || 0) - (a.published_seq || 0)).slice(0, MAX);
      this.items = new Map(sorted.map((i) => [i.id, i]));
      const now = Date.now();
      let at = this.list.firstChild;
      for (const it of sorted) {
        let n = this.nodes.get(it.id);
        if (!n) this.nodes.set(it.id, (n = h("li")));
        if (n.nfItem !== it) this.fill(n, it, now);
        if (n !== at) this.list.insertBefore(n, at);
        at = n.nextSibling;
      }
      for (const [id, n] of this.nodes) if (!this.items.has(id)) { n.remove(); this.nodes.delete(id); }
      this.state();
      this.kick(true);
    }

    fill(n, it, now) {
      n.nfItem = it;
      const lang = langOf(it.lang), pr = it.priority;
      n.className = "nf-item" + (pr === "flash" ? " nf-flash" : pr === "urgent" ? " nf-urgent" : "");
      n.setAttribute("data-item-id", it.id);
      n.lang = lang;
      n.dir = dirOf(lang);
      const tag = h("span", "nf-tag");
      tag.textContent = self.NewsflashTitles.title(lang, pr);
      const url = httpURL(it.url);
      const text = url ? h("a", "nf-text", { href: url, target: "_blank", rel: "noopener noreferrer" }) : h("span", "nf-text");
      text.textContent = typeof it.text === "string" ? it.text : "";
      const time = h("time", "nf-time", { "aria-live": "off" });
      time.dateTime = it.published_at || "";
      time.textContent = ago(it.published_at, lang, now);
      n.replaceChildren(...(/^(flash|urgent)$/.test(pr) ? [tag] : []), text, time);
    }

    times() {
      const now = Date.now();
      for (const n of this.nodes.values()) setText(n.lastChild, ago(n.nfItem.published_at, n.lang, now));
    }

    // reveal shows a focused item (by our offset, not by scrolling).
    reveal(li) {
      if (!li || this.reduce.matches) return;
      this.view.scrollLeft = 0;
      const left = li.offsetLeft - this.list.offsetLeft;
      this.x = this.rtl ? this.list.offsetWidth - left - li.offsetWidth : left;
      this.kick(true);
    }

    // kick runs the scroll loop while it should move.
    kick(measure) {
      if (measure) this.measured = false;
      if (!this.raf && !this.stopped) this.raf = requestAnimationFrame((t) => this.step(t));
    }

    step(t) {
      this.raf = 0;
      if (!this.measured) {
        this.vw = this.view.clientWidth;
        this.lw = this.list.offsetWidth;
        this.measured = true;
      }
      const fits = this.lw <= this.vw || this.reduce.matches;
      const moving = !fits && !this.paused && !this.hover && !this.view.contains(document.activeElement);
      if (fits) this.x = 0;
      else if (moving && this.last) {
        this.x += SPEED * Math.min(0.1, (t - this.last) / 1000);
        if (this.x > this.lw) this.x = -this.vw; // start again from the far edge
      }
      this.last = moving ? t : 0;
      this.list.style.transform = this.x ? `translate3d(${this.rtl ? this.x : -this.x}px,0,0)` : "";
      if (moving) this.raf = requestAnimationFrame((t) => this.step(t));
    }
  }

  const mount = (el) => el.newsflashTicker || new Ticker(el);
  const mountAll = () => document.querySelectorAll("[data-newsflash-ticker]").forEach(mount);
  Promise.all([import(near("./static/reader.js")), import(near("./static/titles.js"))]).then(([r]) => {
    if (window.Newsflash) return void window.Newsflash.mountAll(); // loaded twice
    ({ Reader, home: scriptBase } = r);
    window.Newsflash = Object.freeze({ mount, mountAll });
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
    else mountAll();
  });
})();

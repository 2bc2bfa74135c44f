// Newsroom console: sign in with an editor token, compose and post items,
// watch the live list over the reader WebSocket, correct and retract items,
// see each item's push delivery counts and each alert's funnel, and keep
// the newsroom's stories.
//
// A module without a build step or framework; the reader protocol is
// reader.js's, shared with the ticker. Everything the server sends is
// inserted as text (textContent), never as HTML; no inline code or styles, so
// the page runs under a CSP without 'unsafe-inline'.
import { Reader } from './reader.js';
import { createEditors } from './newsroom-editors.js';
import { createScheduled, rfc3339Local } from './newsroom-scheduled.js';
import { createStories } from './newsroom-stories.js';
import { createFunnel } from './newsroom-funnel.js';
import './titles.js';

(() => {
  const API = '/api/v1';
  const TEXT_LIMIT = 600;
  const TOKEN_KEY = 'newsflash.editorToken';
  const BACKFILL = 50;
  const MAX_ITEMS = 200;              // the live list keeps at most this many
  const STATS_EVERY = 5000;           // push stats refresh while the tab is visible
  const STATS_OFF_EVERY = 60000;      // re-check a server with Web Push off
  const SINGLE_STATS_MAX_AGE = 30000; // per-item stats for items outside the newest 50
  const SINGLE_STATS_PER_TICK = 4;
  const AUDIENCE_DELAY = 300;         // the live audience waits this long after the last keystroke
  const PUSH_SERVICE_WAIT = 20000;    // the browser's push service may never answer
  const PRIORITY_LABELS = { flash: 'Flash', urgent: 'Urgent', breaking: 'Breaking' };
  const FALLBACK_RTL = new Set(['ar', 'he', 'fa', 'ur', 'ps', 'sd', 'yi', 'dv', 'ckb']);

  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  const el = {
    body: document.body,
    conn: $('#nr-conn'),
    pushSummary: $('#nr-push-summary'),
    signout: $('#nr-signout'),
    error: $('#nr-error'),
    signinForm: $('#nr-signin-form'),
    token: $('#nr-token'),
    signin: $('#nr-signin'),
    signinError: $('#nr-signin-error'),
    compose: $('#nr-compose'),
    text: $('#nr-text'),
    count: $('#nr-count'),
    lang: $('#nr-lang'),
    priority: $('#nr-priority'),
    alert: $('#nr-alert'),
    story: $('#nr-story'),
    source: $('#nr-source'),
    url: $('#nr-url'),
    post: $('#nr-post'),
    postStatus: $('#nr-post-status'),
    previewTicker: $('#nr-preview-ticker'),
    previewNotif: $('#nr-preview-notification'),
    items: $('#nr-items'),
    empty: $('#nr-empty'),
    confirm: $('#nr-confirm'),
    confirmText: $('#nr-confirm-text'),
    confirmCancel: $('#nr-confirm-cancel'),
    confirmRetract: $('#nr-confirm-retract'),
    audience: $('#nr-audience'),
    guard: $('#nr-guard'),
    test: $('#nr-test'),
    testStatus: $('#nr-test-status'),
    publishAt: $('#nr-publish-at'),
    ad: $('#nr-alert-dialog'),
    adNotif: $('#nr-ad-notification'),
    adLoudness: $('#nr-ad-loudness'),
    adWhen: $('#nr-ad-when'),
    adAudience: $('#nr-ad-audience'),
    adGuard: $('#nr-ad-guard'),
    adCancel: $('#nr-ad-cancel'),
    adSend: $('#nr-ad-send'),
    tabs: $('#nr-tabs'),
    role: $('#nr-role'),
    ask: $('#nr-ask'),
    askTitle: $('#nr-ask-title'),
    askText: $('#nr-ask-text'),
    askCancel: $('#nr-ask-cancel'),
    askOk: $('#nr-ask-ok'),
  };

  const state = {
    token: null,
    role: '',          // reporter, editor or admin once learnt (learnRole)
    gen: 0,            // bumped on sign-in and sign-out: answers from before are dropped
    tax: null,         // GET /api/v1/taxonomy
    items: new Map(),  // id → entry {item, li, parts, editor}
    connTimer: 0,      // the "retrying in N s" countdown
    // Push stats.
    push: { enabled: null, bulk: new Map(), single: new Map(), timer: 0, busy: false },
    // Compose.
    idemKey: null,
    posting: false,
    // What this server offers (learnt at sign-in; null: not yet known).
    hasDryRun: null,
    hasSchedule: null,
    // The live audience: one dry run in flight at most.
    dry: { timer: 0, busy: false, again: false },
    // "Send test to my browser": this browser's push subscription id.
    test: { subId: null, busy: false },
  };

  // ---------------------------------------------------------------- helpers

  // h builds an element. Attributes are set with setAttribute; children are
  // nodes or strings (added as text nodes, never parsed as HTML).
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === false || v === null || v === undefined) continue;
      node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return node;
  }

  // fill replaces node's children, skipping null and false.
  function fill(node, ...children) {
    node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  }

  const charCount = (s) => [...s].length;
  const fold = (s) => s.replace(/\s+/gu, ' ').trim();

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    // Not a secure context (plain http on a LAN name): build a v4 UUID.
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const x = Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  }

  function langDir(slug) {
    const t = state.tax && state.tax.languages.find((l) => l.slug === slug);
    if (t) return t.dir === 'rtl' ? 'rtl' : 'ltr';
    return FALLBACK_RTL.has(slug) ? 'rtl' : 'ltr';
  }

  function termName(dim, slug) {
    const t = state.tax && state.tax[dim].find((x) => x.slug === slug);
    return t ? t.name : slug;
  }

  function fmtTime(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
    if (d.toDateString() === new Date().toDateString()) return time;
    return `${d.toLocaleDateString([], { day: 'numeric', month: 'short' })} ${time}`;
  }

  function safeHref(u) {
    try {
      const p = new URL(u);
      return p.protocol === 'http:' || p.protocol === 'https:' ? p.href : null;
    } catch {
      return null;
    }
  }

  function hostOf(u) {
    try {
      return new URL(u).host;
    } catch {
      return u;
    }
  }

  // ---------------------------------------------------------------- API

  // api calls the editor API. It answers {ok, status, data, error, network,
  // stale, res}; error is the API's {code, message, field}. A 401 signs the
  // editor out (unless opts.token is given: the sign-in check handles it).
  async function api(method, path, opts = {}) {
    const gen = state.gen;
    const token = opts.anonymous ? null : opts.token || state.token;
    const headers = Object.assign({ Accept: 'application/json' }, opts.headers);
    if (token) headers.Authorization = `Bearer ${token}`;
    let body;
    if (opts.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    let res;
    try {
      res = await fetch(API + path, { method, headers, body, cache: 'no-store', credentials: 'same-origin' });
    } catch {
      return {
        ok: false, status: 0, network: true, stale: gen !== state.gen,
        error: { code: 'network', message: 'Could not reach the server. Check the connection and try again.' },
      };
    }
    let data = null;
    try {
      const text = await res.text();
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    const stale = gen !== state.gen;
    if (res.ok) return { ok: true, status: res.status, data, res, stale };
    const error = (data && data.error) || {
      code: `http_${res.status}`,
      message: `The server answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}.`,
    };
    if (res.status === 401 && !opts.token && !stale && state.token) {
      signOut(`Signed out: the server refused your token (${error.message}). Sign in again.`);
    }
    return { ok: false, status: res.status, data, error, res, stale };
  }

  // showApiError puts an API error next to the control its field names
  // (an element [attr="field"] inside root), else in the general area.
  function showApiError(error, root, attr, general, focus) {
    const field = error.field;
    const target = field ? $(`[${attr}="${CSS.escape(field)}"]`, root) : null;
    if (!target) {
      general.textContent = error.message;
      general.title = error.code || '';
      return;
    }
    target.textContent = error.message;
    target.title = error.code || '';
    const controls = $$(`[name="${CSS.escape(field)}"]`, root);
    for (const c of controls) c.setAttribute('aria-invalid', 'true');
    if (focus && controls.length) controls[0].focus();
  }

  function clearFieldError(root, attr, field) {
    const target = $(`[${attr}="${CSS.escape(field)}"]`, root);
    if (target) target.textContent = '';
    for (const c of $$(`[name="${CSS.escape(field)}"]`, root)) c.removeAttribute('aria-invalid');
  }

  function clearErrors(root, attr) {
    for (const e of $$(`[${attr}]`, root)) e.textContent = '';
    for (const c of $$('[aria-invalid]', root)) c.removeAttribute('aria-invalid');
  }

  // ---------------------------------------------------------------- sign in

  function setSignedIn(on) {
    el.body.dataset.signedIn = on ? 'true' : 'false';
  }

  // verify checks a token with a harmless authenticated call. Auth runs
  // before the push handler, so 503 push_disabled also means the token is
  // good. Answers 'ok', 'push-off', 'refused' or 'error' (+ the result).
  async function verify(token) {
    const r = await api('GET', '/push/stats', { token });
    if (r.ok) return ['ok', r];
    if (r.status === 503 && r.error.code === 'push_disabled') return ['push-off', r];
    if (r.status === 401) return ['refused', r];
    return ['error', r];
  }

  async function trySignIn(token, restoring) {
    el.signinError.textContent = '';
    el.signin.disabled = true;
    el.body.classList.add('nr-checking');
    const [verdict, r] = await verify(token);
    el.signin.disabled = false;
    el.body.classList.remove('nr-checking');
    if (verdict === 'ok' || verdict === 'push-off') {
      signIn(token);
      if (verdict === 'ok') takeStats(r.data);
      else setPushEnabled(false);
      return;
    }
    if (verdict === 'refused') {
      sessionStorage.removeItem(TOKEN_KEY);
      el.signinError.textContent = restoring
        ? `Your saved token was refused (${r.error.message}). Sign in again.`
        : r.error.message;
      el.token.setAttribute('aria-invalid', 'true');
      el.token.focus();
      return;
    }
    el.signinError.textContent = `Could not check the token: ${r.error.message}`;
    if (restoring) el.token.value = token; // so Sign in retries it
  }

  function signIn(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    state.token = token;
    state.gen++;
    el.token.value = '';
    el.token.removeAttribute('aria-invalid');
    el.signinError.textContent = '';
    el.error.textContent = '';
    setSignedIn(true);
    state.push.enabled = null;
    connect();
    scheduleStats(STATS_EVERY);
    learnRole();
    learnFeatures();
    stories.start();
    el.text.focus();
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    state.gen++;
    disconnect();
    clearTimeout(state.push.timer);
    state.push = { enabled: null, bulk: new Map(), single: new Map(), timer: 0, busy: false };
    el.pushSummary.textContent = '';
    for (const e of state.items.values()) e.li.remove();
    state.items.clear();
    updateEmpty();
    state.posting = false;
    el.post.disabled = false;
    el.post.textContent = 'Post';
    el.postStatus.textContent = '';
    clearErrors(el.compose, 'data-error-for');
    if (el.confirm.open) el.confirm.close('cancel');
    answerAsk(false);
    setRole('');
    setView('items');
    editors.reset();
    scheduled.stop();
    stories.stop();
    funnel.stop();
    state.hasDryRun = state.hasSchedule = null;
    el.body.dataset.schedule = '';
    clearTimeout(state.dry.timer);
    state.dry = { timer: 0, busy: false, again: false };
    state.test = { subId: null, busy: false };
    el.testStatus.textContent = '';
    el.publishAt.value = '';
    answerAlert(false);
    el.error.textContent = message || '';
    setSignedIn(false);
    el.token.focus();
  }

  el.signinForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = el.token.value.trim().replace(/^bearer\s+/i, '');
    if (!token) {
      el.signinError.textContent = 'Enter your editor token.';
      el.token.focus();
      return;
    }
    trySignIn(token, false);
  });
  el.token.addEventListener('input', () => {
    el.token.removeAttribute('aria-invalid');
    el.signinError.textContent = '';
  });
  el.signout.addEventListener('click', () => signOut(''));

  // ---------------------------------------------------------------- role

  const ROLE_LABELS = { reporter: 'Reporter', editor: 'Editor', admin: 'Admin' };

  // canAlert: editors and admins send alerts; reporters keep to the ticker.
  function canAlert() {
    return state.role === 'editor' || state.role === 'admin';
  }

  // setRole shows what the role may do: the alert switch, promote and the
  // test alert for editors and admins, the Editors page for admins.
  function setRole(role) {
    state.role = role;
    el.body.dataset.role = role;
    el.role.textContent = ROLE_LABELS[role] || '';
    if (role !== 'admin' && el.body.dataset.view === 'editors') setView('items');
    if (!canAlert()) setView('items');
    for (const e of state.items.values()) renderItem(e);
    audienceSoon();
  }

  // learnRole asks the server who signed in (GET /api/v1/editors/me) and
  // shows what that role may do; an admin also gets the editors' list.
  // The server checks every request whatever the page shows.
  async function learnRole() {
    const gen = state.gen;
    const me = await api('GET', '/editors/me');
    if (gen !== state.gen || !me.ok || !me.data) return;
    setRole(me.data.role);
    if (me.data.role !== 'admin') return;
    const r = await api('GET', '/editors');
    if (gen !== state.gen) return;
    if (r.ok && r.data) editors.take(r.data.editors);
  }

  // learnFeatures turns on the dry run (audience, guard, test) and
  // scheduling: the console is served by the server it drives, which has
  // them.
  function learnFeatures() {
    state.hasDryRun = state.hasSchedule = true;
    el.body.dataset.schedule = 'on';
    scheduled.start();
    audienceSoon();
  }

  // ---------------------------------------------------------------- views

  function setView(view) {
    let v = 'items';
    if (view === 'editors' && state.role === 'admin') v = 'editors';
    else if (view === 'stories' && canAlert()) v = 'stories';
    el.body.dataset.view = v;
    for (const b of $$('button[data-view]', el.tabs)) b.setAttribute('aria-pressed', b.dataset.view === v ? 'true' : 'false');
    return v;
  }

  el.tabs.addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-view]');
    if (!b) return;
    const v = setView(b.dataset.view);
    if (v === 'editors') {
      editors.reload();
      $('#nr-new-name').focus();
    } else if (v === 'stories') {
      stories.reload();
      $('#nr-story-slug').focus();
    } else {
      el.text.focus();
    }
  });

  // ask shows a confirm dialog: {title, text, ok} → a promise of a boolean.
  // The buttons (and Escape) answer it, not the dialog's close event, which
  // comes a task later and could reach the next question's listener.
  let askAnswer = null;
  function answerAsk(yes) {
    const answer = askAnswer;
    askAnswer = null;
    if (el.ask.open) el.ask.close();
    if (answer) answer(yes);
  }
  function ask({ title, text, ok, no }) {
    answerAsk(false);
    el.askTitle.textContent = title;
    el.askText.textContent = text;
    el.askOk.textContent = ok;
    el.askCancel.textContent = no || 'Cancel';
    if (typeof el.ask.showModal !== 'function') return Promise.resolve(window.confirm(`${title}\n\n${text}`));
    el.ask.showModal();
    el.askCancel.focus();
    return new Promise((resolve) => { askAnswer = resolve; });
  }
  el.askCancel.addEventListener('click', () => answerAsk(false));
  el.askOk.addEventListener('click', () => answerAsk(true));
  el.ask.addEventListener('cancel', () => answerAsk(false));

  const editors = createEditors({ api, h, showApiError, clearErrors, clearFieldError, ask, fmtTime });
  const stories = createStories({
    api, h, ask, fmtTime, showApiError, clearErrors, clearFieldError, termName, langDir,
    taxonomy: () => state.tax,
    onChange: storiesChanged,
  });
  const funnel = createFunnel({ api, h, fmtTime });

  // storiesChanged refills the story pickers (compose and open
  // corrections) and the story names in the live list.
  function storiesChanged() {
    stories.fillPicker(el.story, el.lang.value);
    for (const e of state.items.values()) {
      renderItem(e);
      if (e.editor) stories.fillPicker(e.editor.form.elements.namedItem('story'), e.item.lang);
    }
  }

  const scheduled = createScheduled({
    api, h, ask, fmtTime, langDir, labels: PRIORITY_LABELS, canAlert,
    showApiError, clearErrors, clearFieldError,
  });

  // ---------------------------------------------------------------- taxonomy

  async function loadTaxonomy() {
    const r = await api('GET', '/taxonomy');
    if (!r.ok || !r.data) {
      el.error.textContent = `Could not load regions, topics and languages: ${r.error ? r.error.message : 'bad answer'} Retrying…`;
      setTimeout(loadTaxonomy, 3000);
      return;
    }
    if (el.error.textContent.startsWith('Could not load regions')) el.error.textContent = '';
    state.tax = {
      regions: r.data.regions || [],
      topics: r.data.topics || [],
      languages: r.data.languages || [],
    };
    buildComposeChoices();
    stories.buildChoices();
    for (const e of state.items.values()) renderItem(e);
  }

  function chip(name, term, checked) {
    return h('label', { class: 'nr-chip' },
      h('input', { type: 'checkbox', name, value: term.slug, checked }),
      h('span', null, term.name || term.slug));
  }

  function buildComposeChoices() {
    const keepLang = el.lang.value;
    const keep = (dim) => new Set($$(`input[name=${dim}]:checked`, el.compose).map((i) => i.value));
    const keepRegions = keep('regions');
    const keepTopics = keep('topics');
    el.lang.replaceChildren(...state.tax.languages.map((l) =>
      h('option', { value: l.slug }, `${l.name} · ${l.slug}`)));
    if (keepLang && state.tax.languages.some((l) => l.slug === keepLang)) el.lang.value = keepLang;
    $('[data-chips=regions]', el.compose).replaceChildren(
      ...state.tax.regions.map((t) => chip('regions', t, keepRegions.has(t.slug))));
    $('[data-chips=topics]', el.compose).replaceChildren(
      ...state.tax.topics.map((t) => chip('topics', t, keepTopics.has(t.slug))));
    updateCompose();
  }

  // ---------------------------------------------------------------- compose

  function readDraft() {
    const checked = (dim) => $$(`input[name=${dim}]:checked`, el.compose).map((i) => i.value);
    const d = {
      text: el.text.value,
      lang: el.lang.value,
      regions: checked('regions'),
      topics: checked('topics'),
      priority: el.priority.value,
    };
    if (el.source.value.trim() !== '') d.source = el.source.value;
    if (el.url.value.trim() !== '') d.url = el.url.value.trim();
    if (el.story.value) d.story = el.story.value;
    // Without it the item is a ticker line: readers get it, push does not.
    if (el.alert.checked && canAlert()) d.alert = true;
    const at = rfc3339Local(el.publishAt.value);
    if (at && state.hasSchedule !== false) d.publish_at = at;
    return d;
  }

  // A fresh Idempotency-Key when the content changes and after a successful
  // post; never per click, so a double click or a retry after a network
  // error sends the same key and the item goes out once.
  function renewKey() {
    state.idemKey = uuid();
  }

  function updateCount(node, text) {
    const n = charCount(text);
    node.textContent = `${n} / ${TEXT_LIMIT}`;
    node.classList.toggle('nr-over', n > TEXT_LIMIT);
  }

  function updateCompose() {
    const d = readDraft();
    updateCount(el.count, d.text);
    const dir = langDir(d.lang);
    el.text.dir = dir;
    if (d.lang) el.text.lang = d.lang;
    renderPreviews(d, dir);
  }

  function renderPreviews(d, dir) {
    const text = fold(d.text);
    const source = d.source ? fold(d.source) : '';
    const label = PRIORITY_LABELS[d.priority] || d.priority;

    const ticker = el.previewTicker;
    ticker.dir = dir;
    ticker.lang = d.lang || 'en';
    ticker.dataset.priority = d.priority;
    fill(ticker,
      h('span', { class: 'nr-tk-prio', lang: 'en', dir: 'ltr' }, label.toUpperCase()),
      h('span', { class: text ? 'nr-tk-text' : 'nr-tk-text nr-placeholder' }, text || 'Your news line appears here'),
      source ? h('span', { class: 'nr-tk-source' }, source) : null,
      d.regions.length ? h('span', { class: 'nr-tk-regions', lang: 'en', dir: 'ltr' },
        d.regions.map((r) => termName('regions', r)).join(' · ')) : null);

    renderNotification(el.previewNotif, d, dir);
    el.post.textContent = state.posting ? el.post.textContent : postLabel(d);
  }

  const postLabel = (d) => (d.publish_at ? 'Schedule' : 'Post');

  // renderNotification shows the notification of an item (or draft) as the
  // service worker (sw.js) will: its title in the item's language, its text.
  function renderNotification(notif, d, dir) {
    const text = fold(d.text || '');
    notif.dataset.priority = d.priority;
    const href = d.url ? safeHref(d.url) : null;
    fill(notif,
      h('div', { class: 'nr-np-head' },
        h('span', { class: 'nr-np-icon', 'aria-hidden': 'true' }, 'N'),
        h('span', { class: 'nr-np-app' }, 'Newsflash'),
        h('span', { class: 'nr-np-origin' }, location.host),
        h('span', { class: 'nr-np-when' }, 'now')),
      // The title as the service worker (sw.js) shows it.
      h('div', { class: 'nr-np-title', dir, lang: d.lang || 'en' }, self.NewsflashTitles.title(d.lang, d.priority)),
      h('div', { class: text ? 'nr-np-body' : 'nr-np-body nr-placeholder', dir, lang: d.lang || 'en' },
        text || 'The notification text'),
      href ? h('div', { class: 'nr-np-url' }, `Opens ${hostOf(href)}`) : null);
  }

  function setPosting(on) {
    state.posting = on;
    el.post.disabled = on;
    el.post.textContent = on ? 'Posting…' : postLabel(readDraft());
    el.compose.setAttribute('aria-busy', on ? 'true' : 'false');
  }

  const isGuard = (r) => r.status === 409 && (r.error.code === 'alert_too_soon' || r.error.code === 'duplicate_alert');

  // post sends the draft. An alert is shown first as it will look, with
  // its audience and the flood guard's word (alertDialog); confirm (the
  // editor agreed to override the guard) sends it with "confirm": true.
  async function post(ev, confirm) {
    ev.preventDefault();
    if (state.posting || !state.token) return;
    clearErrors(el.compose, 'data-error-for');
    el.error.textContent = '';
    el.postStatus.textContent = '';
    const draft = readDraft();
    const key = state.idemKey;
    setPosting(true);
    if (draft.alert && confirm === undefined) {
      const pre = await preflight('POST', '/items', draft, draft);
      if (pre.stale) return;
      if (!pre.send) {
        setPosting(false);
        if (pre.r) postError(pre.r);
        else el.alert.focus();
        return;
      }
      confirm = pre.confirm;
    }
    if (confirm === true) draft.confirm = true;
    const r = await api('POST', '/items', { json: draft, headers: { 'Idempotency-Key': key } });
    if (r.stale) return;
    setPosting(false);
    if (r.ok && r.data) {
      const it = r.data;
      const replayed = r.res.headers.get('Idempotent-Replayed') === 'true';
      if (it.status === 'scheduled') {
        scheduled.add(it);
        el.postStatus.textContent = `${replayed ? 'Already scheduled' : 'Scheduled'} for ${fmtTime(it.publish_at)} · ${it.id}`;
      } else {
        const entry = upsert(it);
        el.postStatus.textContent = replayed
          ? `Already posted at ${fmtTime(it.published_at)} (${it.id}): sent once, not twice.`
          : `Posted ${fmtTime(it.published_at)} · ${it.id}`;
        if (entry) highlight(entry, replayed ? 'Already posted' : 'Posted');
      }
      // Keep language, regions and topics for a follow-up; reset the rest.
      el.text.value = '';
      el.source.value = '';
      el.url.value = '';
      el.priority.value = 'breaking';
      el.alert.checked = false;
      el.publishAt.value = '';
      renewKey();
      updateCompose();
      audienceSoon();
      el.text.focus();
      return;
    }
    // The flood guard held the alert back meanwhile (another alert went
    // out since the dialog): the editor may send it anyway.
    if (isGuard(r) && confirm !== true) {
      const yes = await ask({ title: 'Send this alert anyway?', text: r.error.message, ok: 'Send anyway' });
      if (yes && state.token) return post(ev, true);
    }
    postError(r);
  }

  function postError(r) {
    if (r.status === 401) return; // signed out with a message
    if (r.network) {
      el.error.textContent = 'Could not reach the server: the post was not confirmed. ' +
        'Post again to retry; it reuses the same Idempotency-Key, so the item cannot go out twice.';
      return;
    }
    showApiError(r.error, el.compose, 'data-error-for', el.error, true);
  }

  // preflight shows an alert before it is sent: a dry run of the request
  // (when the server has them) for its audience and the flood guard's
  // word, then the dialog. Answers {send, confirm}, {send: false, r} when
  // the dry run refused the request (the real one would be refused the
  // same way), or {stale}.
  async function preflight(method, path, body, view) {
    let dry = null;
    if (state.hasDryRun) {
      const r = await api(method, `${path}?dry_run=true`, { json: body });
      if (r.stale) return { stale: true };
      if (!r.ok) return { send: false, r };
      dry = r.data;
    }
    return alertDialog(view, dry);
  }

  // ---------------------------------------------------------------- alert dialog

  function loudWords(priority) {
    const l = self.NewsflashTitles.loud(priority);
    if (l.silent) return 'silent: shown without a sound';
    return l.requireInteraction ? 'makes a sound and stays on screen until dismissed' : 'makes a sound';
  }

  const sentence = (m) => (/[.!?]$/.test(m) ? m : `${m}.`);
  const browsers = (n) => `${n} browser${n === 1 ? '' : 's'}`;

  // alertDialog shows the notification an item (or draft) will make, how
  // loud, who gets it and the flood guard's warning; a promise of {send,
  // confirm}: confirm when the editor sends over the guard's warning.
  let alertAnswer = null;
  function answerAlert(send) {
    const answer = alertAnswer;
    alertAnswer = null;
    if (el.ad.open) el.ad.close();
    if (answer) answer(send);
  }
  function alertDialog(view, dry) {
    answerAlert(false);
    const dir = langDir(view.lang);
    renderNotification(el.adNotif, view, dir);
    const label = PRIORITY_LABELS[view.priority] || view.priority;
    el.adLoudness.textContent = `${label}: ${loudWords(view.priority)}.`;
    el.adWhen.textContent = view.publish_at ? `Sent at ${fmtTime(view.publish_at)}, when the item is published.` : '';
    const tripped = !!(dry && dry.guard && dry.guard.ok === false);
    if (dry) {
      const n = (dry.audience && dry.audience.web) || 0;
      el.adAudience.textContent = view.publish_at ? `Would reach ${browsers(n)} now.` : `Reaches ${browsers(n)}.`;
    } else {
      el.adAudience.textContent = 'Audience unknown: this server has no dry run.';
    }
    el.adGuard.textContent = tripped
      ? `${guardWords(dry.guard, !!view.publish_at)} Sending anyway overrides the flood guard; the override is recorded in the audit trail.`
      : '';
    el.adSend.textContent = tripped ? 'Send anyway' : 'Send alert';
    if (typeof el.ad.showModal !== 'function') {
      const text = `${self.NewsflashTitles.title(view.lang, view.priority)}: ${view.text}\n${el.adAudience.textContent}\n${el.adGuard.textContent}`;
      return Promise.resolve({ send: window.confirm(`Send this alert?\n\n${text}`), confirm: tripped });
    }
    el.ad.showModal();
    el.adCancel.focus();
    return new Promise((resolve) => {
      alertAnswer = (send) => resolve({ send, confirm: send && tripped });
    });
  }
  el.adCancel.addEventListener('click', () => answerAlert(false));
  el.adSend.addEventListener('click', () => answerAlert(true));
  el.ad.addEventListener('cancel', () => answerAlert(false));

  // ---------------------------------------------------------------- audience

  // audienceSoon asks for the alert's audience a moment after the last
  // change (one dry run in flight at most; a change meanwhile asks again
  // when it is answered).
  function audienceSoon() {
    clearTimeout(state.dry.timer);
    const d = readDraft();
    if (!state.token || !d.alert) {
      showAudience('', '');
      return;
    }
    if (state.hasDryRun === false) {
      showAudience('Audience unknown: this server has no dry run.', '');
      return;
    }
    if (state.hasDryRun === null) return; // learnFeatures asks again
    if (fold(d.text) === '') {
      showAudience('Type the text to see how many browsers the alert reaches.', '');
      return;
    }
    el.audience.dataset.state = 'loading';
    state.dry.timer = setTimeout(askAudience, AUDIENCE_DELAY);
  }

  async function askAudience() {
    if (state.dry.busy) {
      state.dry.again = true;
      return;
    }
    const d = readDraft();
    if (!d.alert || !state.hasDryRun) return;
    const gen = state.gen;
    state.dry.busy = true;
    const r = await api('POST', '/items?dry_run=true', { json: d });
    if (gen !== state.gen) return;
    state.dry.busy = false;
    if (state.dry.again) {
      state.dry.again = false;
      askAudience();
      return;
    }
    // Changed since: the pending timer asks for the new draft.
    if (JSON.stringify(readDraft()) !== JSON.stringify(d)) return;
    if (r.ok && r.data) {
      const n = (r.data.audience && r.data.audience.web) || 0;
      const g = r.data.guard;
      showAudience(`Alert will reach ${browsers(n)}`, g && g.ok === false ? guardWords(g, !!d.publish_at) : '');
      el.audience.dataset.count = String(n);
    } else if (r.status !== 401) {
      showAudience(`Audience unknown: ${r.error.message}`, '');
    }
  }

  // guardWords says in the newsroom's words what the flood guard would do
  // (the API's message speaks to programs: "send with confirm"). For a
  // scheduled alert the guard compares it with the other scheduled ones.
  function guardWords(g, scheduled) {
    const prev = g.previous_item ? ` (item ${g.previous_item})` : '';
    const code = g.code || g.overridden;
    const s = Number(g.retry_after) || 0;
    const wait = s >= 90 ? `${Math.ceil(s / 60)} min` : `${s} s`;
    if (code === 'alert_too_soon') {
      return scheduled
        ? `Another alert${prev} is scheduled close to this time: move them ${wait} further apart.`
        : `Another alert${prev} went out a moment ago: the flood guard holds new alerts for ${wait} more.`;
    }
    if (code === 'duplicate_alert') {
      return scheduled ? `The same text is scheduled to alert near this time${prev}.` : `The same text was alerted recently${prev}.`;
    }
    return sentence(g.message || '');
  }

  function showAudience(text, warning) {
    el.audience.textContent = text;
    el.audience.dataset.state = '';
    delete el.audience.dataset.count;
    el.guard.textContent = warning;
  }

  // ---------------------------------------------------------------- test alert

  const fromB64url = (s) => {
    const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4));
    return Uint8Array.from(b, (c) => c.charCodeAt(0));
  };

  function sameKey(sub, key) {
    const k = sub.options && sub.options.applicationServerKey;
    if (!k) return true; // the browser does not say: assume so
    const a = new Uint8Array(k);
    return a.length === key.length && a.every((x, i) => x === key[i]);
  }

  // The filter the reader page (/) keeps for this browser's alerts; none
  // chosen there: every alert.
  async function readerFilter() {
    try {
      const res = await (await caches.open('newsflash')).match('/push-filter');
      const f = res ? await res.json() : null;
      return f && typeof f === 'object' ? f : {};
    } catch {
      return {};
    }
  }

  // testSubscription subscribes this browser to Web Push as the reader page
  // does (same service worker, same filter) and answers the server's id of
  // the subscription.
  async function testSubscription() {
    if (state.test.subId) return state.test.subId;
    if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) {
      throw new Error('this browser cannot receive Web Push notifications.');
    }
    const k = await api('GET', '/push/key', { anonymous: true });
    if (!k.ok || !k.data) throw new Error(k.error ? k.error.message : 'no push key');
    if (await Notification.requestPermission() !== 'granted') {
      throw new Error("notifications are blocked for this site: allow them in the browser's site settings.");
    }
    const key = fromB64url(k.data.public_key);
    const reg = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    await navigator.serviceWorker.ready;
    let sub = await reg.pushManager.getSubscription();
    if (sub && !sameKey(sub, key)) {
      await sub.unsubscribe().catch(() => {});
      sub = null;
    }
    if (!sub) {
      let timer;
      try {
        sub = await Promise.race([
          reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error("the browser's push service did not answer.")), PUSH_SERVICE_WAIT);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    }
    const r = await api('POST', '/push/subscriptions', {
      anonymous: true, json: { subscription: sub.toJSON(), filter: await readerFilter() },
    });
    if (!r.ok || !r.data) throw new Error(r.error ? r.error.message : 'no subscription id');
    state.test.subId = r.data.id;
    return r.data.id;
  }

  // sendTest sends the draft's notification to this browser only, marked
  // as a test: nothing is stored or sent to anyone else.
  async function sendTest() {
    if (state.test.busy || !state.token) return;
    const gen = state.gen;
    clearErrors(el.compose, 'data-error-for');
    state.test.busy = true;
    el.test.disabled = true;
    el.testStatus.dataset.kind = '';
    el.testStatus.textContent = 'Sending a test to this browser…';
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const id = await testSubscription();
        if (gen !== state.gen) return;
        const d = readDraft();
        delete d.publish_at;
        const r = await api('POST', `/items?dry_run=true&test_to=${encodeURIComponent(id)}`, { json: d });
        if (r.stale) return;
        if (r.ok && r.data && r.data.test && r.data.test.sent) {
          el.testStatus.dataset.kind = 'ok';
          el.testStatus.textContent = `Test sent to this browser: look for “TEST · ${self.NewsflashTitles.title(d.lang, d.priority)}”.`;
          return;
        }
        if (r.status === 404 && r.error && r.error.code === 'unknown_subscription' && attempt === 0) {
          state.test.subId = null; // the server forgot it: subscribe again
          continue;
        }
        if (r.status === 401) return;
        el.testStatus.dataset.kind = 'error';
        el.testStatus.textContent = '';
        showApiError(r.error || { message: 'The server did not send the test.' }, el.compose, 'data-error-for', el.testStatus, true);
        if (el.testStatus.textContent) el.testStatus.textContent = `Test not sent: ${el.testStatus.textContent}`;
        else el.testStatus.textContent = 'Test not sent: see the field marked above.';
        return;
      }
    } catch (e) {
      if (gen === state.gen) {
        el.testStatus.dataset.kind = 'error';
        el.testStatus.textContent = `Test not sent: ${(e && e.message) || e}`;
      }
    } finally {
      if (gen === state.gen) {
        state.test.busy = false;
        el.test.disabled = false;
      }
    }
  }
  el.test.addEventListener('click', sendTest);

  el.compose.addEventListener('submit', post);
  const onComposeEdit = (ev) => {
    renewKey();
    if (ev.target && ev.target.name) clearFieldError(el.compose, 'data-error-for', ev.target.name);
    el.postStatus.textContent = '';
    updateCompose();
    audienceSoon();
  };
  el.compose.addEventListener('input', onComposeEdit);
  el.lang.addEventListener('change', () => stories.fillPicker(el.story, el.lang.value));
  el.compose.addEventListener('change', onComposeEdit);
  el.compose.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      if (!state.posting) el.compose.requestSubmit();
    }
  });

  // ---------------------------------------------------------------- live list

  function createEntry(item) {
    const parts = {
      prio: h('span', { class: 'nr-prio' }),
      time: h('time', { class: 'nr-time' }),
      retracted: h('span', { class: 'nr-badge nr-badge-retracted', hidden: true }, 'retracted'),
      version: h('span', { class: 'nr-badge nr-badge-version', hidden: true }),
      langTag: h('span', { class: 'nr-lang-tag' }),
      note: h('span', { class: 'nr-note', role: 'status' }),
      text: h('p', { class: 'nr-item-text' }),
      meta: h('div', { class: 'nr-item-meta', lang: 'en', dir: 'ltr' }),
      stats: h('span', { class: 'nr-push-stats', 'data-push-stats': '' }),
      correct: h('button', { type: 'button', class: 'nr-btn nr-btn-small', 'data-action': 'correct' }, 'Correct'),
      retract: h('button', { type: 'button', class: 'nr-btn nr-btn-small nr-btn-danger-quiet', 'data-action': 'retract' }, 'Retract'),
      promote: h('button', { type: 'button', class: 'nr-btn nr-btn-small nr-btn-alert nr-can-alert', 'data-action': 'promote' }, 'Promote to alert'),
      funnel: h('button', { type: 'button', class: 'nr-btn nr-btn-small', 'data-action': 'funnel', 'aria-expanded': 'false', hidden: true }, 'Funnel'),
    };
    const li = h('li', { class: 'nr-item', 'data-item-id': item.id },
      h('div', { class: 'nr-item-head', lang: 'en', dir: 'ltr' },
        parts.prio, parts.time, parts.langTag, parts.retracted, parts.version, parts.note),
      parts.text,
      parts.meta,
      h('div', { class: 'nr-item-foot', lang: 'en', dir: 'ltr' },
        parts.stats,
        h('span', { class: 'nr-actions' }, parts.funnel, parts.promote, parts.correct, parts.retract)));
    const e = { item, li, parts, editor: null };
    renderItem(e);
    return e;
  }

  function renderItem(e) {
    const it = e.item;
    const p = e.parts;
    const retracted = it.status === 'retracted';
    const label = PRIORITY_LABELS[it.priority] || it.priority;
    e.li.dataset.status = retracted ? 'retracted' : 'live';
    e.li.dataset.priority = it.priority;
    e.li.lang = it.lang;
    e.li.dir = langDir(it.lang);
    p.prio.textContent = label;
    p.time.textContent = fmtTime(it.published_at);
    p.time.dateTime = it.published_at;
    p.time.title = `Published ${it.published_at}${it.updated_at && it.updated_at !== it.published_at ? `, updated ${it.updated_at}` : ''}`;
    p.langTag.textContent = it.lang;
    p.retracted.hidden = !retracted;
    const corrected = it.version > 1 && !retracted;
    p.version.hidden = !corrected;
    p.version.textContent = corrected ? `corrected · v${it.version}` : '';
    p.text.textContent = it.text;

    const meta = [];
    if (it.regions && it.regions.length) {
      meta.push(h('span', { class: 'nr-meta-regions', title: 'Regions' }, it.regions.map((r) => termName('regions', r)).join(', ')));
    }
    if (it.topics && it.topics.length) {
      meta.push(h('span', { class: 'nr-meta-topics', title: 'Topics' }, it.topics.map((t) => termName('topics', t)).join(', ')));
    }
    if (it.source) meta.push(h('span', { class: 'nr-meta-source', title: 'Source' }, it.source));
    if (it.url) {
      const href = safeHref(it.url);
      meta.push(href
        ? h('a', { class: 'nr-meta-url', href, target: '_blank', rel: 'noopener noreferrer', title: it.url }, hostOf(href))
        : h('span', { class: 'nr-meta-url' }, it.url));
    }
    if (it.story) {
      meta.push(h('span', { class: 'nr-meta-story', title: `Story ${it.story}` }, `story: ${stories.title(stories.find(it.story), it.lang) || it.story}`));
    }
    if (it.alerted_at) {
      meta.push(h('span', { class: 'nr-meta-alert', title: `Alert sent ${it.alerted_at}` }, `alert ${fmtTime(it.alerted_at)}`));
    }
    meta.push(h('span', { class: 'nr-meta-id', title: `seq ${it.seq}, published seq ${it.published_seq}` }, it.id));
    p.meta.replaceChildren(...meta);

    p.correct.disabled = retracted;
    p.retract.disabled = retracted;
    // Promote: a live ticker line whose alert has not gone out.
    p.promote.hidden = retracted || it.alert || !canAlert();
    if (!e.promoting) p.promote.disabled = false;
    // The funnel: an alert that went out (its panel stays open through a
    // retraction: what it did is still worth reading).
    p.funnel.hidden = !it.alerted_at && !funnel.isOpen(it.id);
    p.funnel.setAttribute('aria-label', `Funnel of the alert: ${it.text.slice(0, 60)}`);
    p.promote.setAttribute('aria-label', `Promote to alert: ${it.text.slice(0, 60)}`);
    p.correct.setAttribute('aria-label', `Correct: ${it.text.slice(0, 60)}`);
    p.retract.setAttribute('aria-label', `Retract: ${it.text.slice(0, 60)}`);
    applyStats(e);
  }

  function updateEmpty() {
    el.empty.hidden = state.items.size > 0;
  }

  function insertSorted(e) {
    for (const child of el.items.children) {
      const other = state.items.get(child.dataset.itemId);
      if (other && other !== e && other.item.published_seq < e.item.published_seq) {
        el.items.insertBefore(e.li, child);
        return;
      }
    }
    el.items.append(e.li);
  }

  // upsert inserts or replaces an item (never with an older version) and
  // answers its entry.
  function upsert(item) {
    if (!item || !item.id) return null;
    let e = state.items.get(item.id);
    if (e) {
      if (item.version < e.item.version) return e;
      const before = e.item;
      e.item = item;
      renderItem(e);
      if (e.editor && item.version > before.version) editorSeesChange(e);
    } else {
      e = createEntry(item);
      state.items.set(item.id, e);
      insertSorted(e);
      trim();
    }
    updateEmpty();
    return e;
  }

  function remove(id) {
    const e = state.items.get(id);
    if (!e) return;
    funnel.forget(id);
    e.li.remove();
    state.items.delete(id);
    updateEmpty();
  }

  function trim() {
    while (state.items.size > MAX_ITEMS) {
      let oldest = null;
      for (const e of state.items.values()) {
        if (!e.editor && (!oldest || e.item.published_seq < oldest.item.published_seq)) oldest = e;
      }
      if (!oldest) return;
      remove(oldest.item.id);
    }
  }

  // replaceAll makes the list exactly the snapshot, keeping the elements
  // (and open editors) of items still in it.
  function replaceAll(items) {
    const ids = new Set(items.map((i) => i.id));
    for (const [id, e] of state.items) {
      if (!ids.has(id)) {
        funnel.forget(id);
        e.li.remove();
        state.items.delete(id);
      }
    }
    for (const it of items) {
      const e = state.items.get(it.id);
      if (e) {
        if (it.version >= e.item.version) {
          const before = e.item;
          e.item = it;
          renderItem(e);
          if (e.editor && it.version > before.version) editorSeesChange(e);
        }
      } else {
        state.items.set(it.id, createEntry(it));
      }
    }
    // Order by published_seq, newest first, moving only what is out of place
    // (moving a node would take the focus from it).
    const order = Array.from(state.items.values()).sort((a, b) => b.item.published_seq - a.item.published_seq);
    let ref = el.items.firstElementChild;
    for (const e of order) {
      if (e.li === ref) {
        ref = ref.nextElementSibling;
      } else {
        el.items.insertBefore(e.li, ref);
      }
    }
    trim();
    updateEmpty();
  }

  function onRetractFrame(item) {
    // With no filter a retract frame means the item was retracted: show it
    // struck through. (A retract for an item that left a filter would still
    // say "live": then it is removed, as the reader protocol says.)
    if (item.status === 'retracted') {
      // Readers get a retracted item without its text and url; the
      // newsroom keeps showing what it said, struck through.
      const e = state.items.get(item.id);
      if (e) upsert({ ...item, text: item.text || e.item.text, url: item.url || e.item.url });
    } else {
      remove(item.id);
    }
  }

  function highlight(e, note) {
    e.li.classList.remove('nr-flash');
    void e.li.offsetWidth; // restart the animation
    e.li.classList.add('nr-flash');
    e.parts.note.textContent = note;
    clearTimeout(e.noteTimer);
    e.noteTimer = setTimeout(() => { e.parts.note.textContent = ''; }, 5000);
  }

  el.items.addEventListener('click', (ev) => {
    const btn = ev.target.closest('button[data-action]');
    if (!btn || btn.disabled) return;
    const li = btn.closest('li[data-item-id]');
    const e = li && state.items.get(li.dataset.itemId);
    if (!e) return;
    if (btn.dataset.action === 'correct') openEditor(e);
    else if (btn.dataset.action === 'retract') retract(e, btn);
    else if (btn.dataset.action === 'promote') promote(e, btn);
    else if (btn.dataset.action === 'funnel') funnel.toggle(e);
  });

  // ---------------------------------------------------------------- promote

  // promote sends a posted ticker line as an alert (PATCH {"alert": true}),
  // after the same dialog as a new alert.
  async function promote(e, btn) {
    if (e.promoting || !state.token) return;
    const path = `/items/${encodeURIComponent(e.item.id)}`;
    e.promoting = true;
    btn.disabled = true;
    const pre = await preflight('PATCH', path, { alert: true }, e.item);
    if (pre.stale) return;
    if (!pre.send) {
      e.promoting = false;
      btn.disabled = false;
      if (pre.r) promoteError(e, pre.r);
      if (btn.isConnected && !btn.hidden) btn.focus();
      return;
    }
    await sendPromote(e, btn, pre.confirm);
  }

  async function sendPromote(e, btn, confirm) {
    btn.textContent = 'Sending…';
    const body = { alert: true };
    if (confirm) body.confirm = true;
    const r = await api('PATCH', `/items/${encodeURIComponent(e.item.id)}`, { json: body });
    if (r.stale) return;
    btn.textContent = 'Promote to alert';
    if (r.ok && r.data) {
      e.promoting = false;
      upsert(r.data);
      highlight(e, 'Alert sent');
      return;
    }
    // Another alert went out since the dialog: ask again.
    if (isGuard(r) && !confirm) {
      const yes = await ask({ title: 'Send this alert anyway?', text: r.error.message, ok: 'Send anyway' });
      if (yes && state.token) return sendPromote(e, btn, true);
    } else {
      promoteError(e, r);
    }
    e.promoting = false;
    btn.disabled = false;
    if (btn.isConnected && !btn.hidden) btn.focus();
  }

  function promoteError(e, r) {
    if (r.status === 401) return;
    el.error.textContent = `Could not promote “${e.item.text.slice(0, 80)}”: ${r.error.message}`;
  }

  // ---------------------------------------------------------------- correct

  function openEditor(e) {
    if (e.editor) {
      $('textarea', e.editor.form).focus();
      return;
    }
    if (e.item.status !== 'live') return;
    const base = e.item;
    const dir = langDir(base.lang);
    const uid = `nr-edit-${base.id}`;
    const err = (field) => h('p', { class: 'nr-field-error', 'data-edit-error-for': field });
    const count = h('span', { class: 'nr-count', id: `${uid}-count` });
    const text = h('textarea', { name: 'text', rows: 3, dir, lang: base.lang, 'aria-describedby': `${uid}-count` });
    text.value = base.text;
    const chips = (dim) => h('div', { class: 'nr-chip-list' },
      ((state.tax && state.tax[dim]) || []).map((t) => chip(dim, t, (base[dim] || []).includes(t.slug))));
    const priority = h('select', { name: 'priority' },
      Object.entries(PRIORITY_LABELS).reverse().map(([v, l]) => h('option', { value: v }, l)));
    priority.value = base.priority;
    const source = h('input', { name: 'source', type: 'text', dir: 'auto', value: base.source || '' });
    const url = h('input', { name: 'url', type: 'url', inputmode: 'url', spellcheck: 'false', value: base.url || '' });
    const story = h('select', { name: 'story' });
    stories.fillPicker(story, base.lang, base.story || '');
    const notice = h('p', { class: 'nr-edit-notice', role: 'status' });
    const general = h('p', { class: 'nr-edit-error', role: 'alert' });
    const save = h('button', { type: 'submit', class: 'nr-btn nr-btn-primary nr-btn-small', 'data-action': 'save' }, 'Save correction');
    const cancel = h('button', { type: 'button', class: 'nr-btn nr-btn-small', 'data-action': 'cancel' }, 'Cancel');

    const form = h('form', { class: 'nr-edit', novalidate: true, autocomplete: 'off', lang: 'en', dir: 'ltr', 'aria-label': 'Correct item' },
      h('div', { class: 'nr-field' },
        h('div', { class: 'nr-label-row' }, h('label', { for: `${uid}-text` }, 'Text'), count),
        text, err('text')),
      h('div', { class: 'nr-row' },
        h('div', { class: 'nr-field' }, h('label', null, 'Priority', priority), err('priority')),
        h('div', { class: 'nr-field' }, h('label', null, 'Source', source), err('source')),
        h('div', { class: 'nr-field nr-grow' }, h('label', null, 'URL', url), err('url'))),
      h('fieldset', { class: 'nr-field nr-chips' }, h('legend', null, 'Regions'), chips('regions'), err('regions')),
      h('fieldset', { class: 'nr-field nr-chips' }, h('legend', null, 'Topics'), chips('topics'), err('topics')),
      h('div', { class: 'nr-field' }, h('label', null, 'Story', story), err('story')),
      notice,
      general,
      h('div', { class: 'nr-edit-actions' }, save, cancel,
        h('span', { class: 'nr-hint' }, 'Only changed fields are sent. Language cannot be corrected.')));
    text.id = `${uid}-text`;

    e.editor = { form, base, general, notice, save, saving: false };
    e.li.classList.add('nr-editing');
    e.li.append(form);
    updateCount(count, text.value);

    form.addEventListener('input', (ev) => {
      if (ev.target === text) updateCount(count, text.value);
      if (ev.target.name) clearFieldError(form, 'data-edit-error-for', ev.target.name);
      general.textContent = '';
    });
    form.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') {
        ev.preventDefault();
        closeEditor(e, true);
      } else if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
        ev.preventDefault();
        form.requestSubmit();
      }
    });
    cancel.addEventListener('click', () => closeEditor(e, true));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      saveCorrection(e);
    });
    text.focus();
  }

  function closeEditor(e, restoreFocus) {
    if (!e.editor) return;
    e.editor.form.remove();
    e.editor = null;
    e.li.classList.remove('nr-editing');
    if (restoreFocus && !e.parts.correct.disabled) e.parts.correct.focus();
  }

  function editorSeesChange(e) {
    if (e.item.status !== 'live') {
      closeEditor(e, false);
      highlight(e, 'Retracted meanwhile: correction closed');
      return;
    }
    e.editor.notice.textContent = `Changed meanwhile (now v${e.item.version}). Saving sends only the fields you changed, on top of that version.`;
  }

  // patchFor answers the fields of the form that differ from the version
  // the editor opened.
  function patchFor(form, base) {
    const p = {};
    const val = (name) => form.elements.namedItem(name).value;
    const checked = (dim) => $$(`input[name=${dim}]:checked`, form).map((i) => i.value);
    const sameSet = (a, b) => a.length === b.length && a.every((x) => b.includes(x));
    const keepOrder = (old, now) => old.filter((x) => now.includes(x)).concat(now.filter((x) => !old.includes(x)));

    if (val('text') !== base.text) p.text = val('text');
    for (const dim of ['regions', 'topics']) {
      const now = checked(dim);
      const old = base[dim] || [];
      if (!sameSet(now, old)) p[dim] = keepOrder(old, now);
    }
    if (val('source') !== (base.source || '')) p.source = val('source');
    if (val('url').trim() !== (base.url || '')) p.url = val('url').trim();
    if (val('priority') !== base.priority) p.priority = val('priority');
    // "" takes the item out of its story.
    if (val('story') !== (base.story || '')) p.story = val('story');
    return p;
  }

  async function saveCorrection(e) {
    const ed = e.editor;
    if (!ed || ed.saving) return;
    clearErrors(ed.form, 'data-edit-error-for');
    ed.general.textContent = '';
    const patch = patchFor(ed.form, ed.base);
    if (Object.keys(patch).length === 0) {
      ed.general.textContent = 'Nothing to correct: no field was changed.';
      return;
    }
    ed.saving = true;
    ed.save.disabled = true;
    ed.save.textContent = 'Saving…';
    const r = await api('PATCH', `/items/${encodeURIComponent(e.item.id)}`, { json: patch });
    if (r.stale) return;
    ed.saving = false;
    ed.save.disabled = false;
    ed.save.textContent = 'Save correction';
    if (r.ok && r.data) {
      closeEditor(e, true);
      upsert(r.data);
      highlight(e, r.data.version > ed.base.version ? `Corrected · v${r.data.version}` : 'No change');
      return;
    }
    if (r.status === 401) return;
    if (e.editor !== ed) { // closed meanwhile (retracted): say it on the page
      el.error.textContent = `Correction not saved: ${r.error.message}`;
      return;
    }
    showApiError(r.error, ed.form, 'data-edit-error-for', ed.general, true);
  }

  // ---------------------------------------------------------------- retract

  function confirmRetract(item) {
    el.confirmText.textContent = item.text;
    el.confirmText.lang = item.lang;
    el.confirmText.dir = langDir(item.lang);
    if (typeof el.confirm.showModal !== 'function') {
      return Promise.resolve(window.confirm(`Retract this item?\n\n${item.text}`));
    }
    el.confirm.returnValue = '';
    el.confirm.showModal();
    el.confirmCancel.focus();
    return new Promise((resolve) => {
      el.confirm.addEventListener('close', () => resolve(el.confirm.returnValue === 'retract'), { once: true });
    });
  }
  el.confirmCancel.addEventListener('click', () => el.confirm.close('cancel'));
  el.confirmRetract.addEventListener('click', () => el.confirm.close('retract'));

  async function retract(e, btn) {
    const gen = state.gen;
    const ok = await confirmRetract(e.item);
    if (!ok || gen !== state.gen || !state.token) {
      if (btn.isConnected) btn.focus();
      return;
    }
    btn.disabled = true;
    btn.textContent = 'Retracting…';
    const r = await api('DELETE', `/items/${encodeURIComponent(e.item.id)}`);
    if (r.stale) return;
    btn.textContent = 'Retract';
    if (r.ok && r.data) {
      closeEditor(e, false);
      upsert(r.data);
      highlight(e, 'Retracted');
      return;
    }
    btn.disabled = e.item.status !== 'live';
    if (r.status === 401) return;
    el.error.textContent = `Could not retract “${e.item.text.slice(0, 80)}”: ${r.error.message}`;
    btn.focus();
  }

  // ---------------------------------------------------------------- reader

  function setConn(stateName, text) {
    el.conn.dataset.state = stateName;
    el.conn.textContent = text;
  }

  // The live list: every item, the newest BACKFILL as the snapshot.
  const reader = new Reader({
    query: () => new URLSearchParams({ backfill: String(BACKFILL) }),
    maxDelay: 15000,
    onSnapshot: (items) => {
      replaceAll(items);
      scheduled.refreshSoon();
      refreshStatsSoon();
    },
    onEvent: (type, item) => {
      // A scheduled item that was published leaves the Scheduled list.
      scheduled.refreshSoon();
      // Resumed frames of an item retracted since say so and carry no text.
      if (type === 'retract' || item.status === 'retracted') onRetractFrame(item);
      else upsert(item);
    },
    onState: (s, info) => {
      clearTimeout(state.connTimer);
      if (s === 'live') setConn('live', info.recovered ? 'Live · resumed' : 'Live');
      else if (s === 'connecting') setConn('connecting', info.attempt ? 'Reconnecting…' : 'Connecting…');
      else if (s === 'off') setConn('off', 'Not connected');
      else countdown(Date.now() + info.delay);
    },
  });

  function countdown(until) {
    const left = Math.ceil((until - Date.now()) / 1000);
    setConn('wait', left > 0 ? `Disconnected · retrying in ${left} s` : 'Reconnecting…');
    if (left > 0) state.connTimer = setTimeout(() => countdown(until), Math.min(1000, until - Date.now()));
  }

  const connect = () => reader.start();
  const disconnect = () => reader.stop();

  // ---------------------------------------------------------------- push stats

  function setPushEnabled(on) {
    state.push.enabled = on;
    el.body.dataset.push = on ? 'on' : 'off';
    if (!on) {
      el.pushSummary.textContent = 'Web Push off';
      el.pushSummary.title = 'This server runs without --vapid-subject: no push notifications are sent.';
    }
    for (const e of state.items.values()) applyStats(e);
  }

  function takeStats(data) {
    const bulk = new Map();
    for (const s of (data && data.items) || []) bulk.set(s.id, s);
    state.push.bulk = bulk;
    setPushEnabled(true);
    const n = (data && data.subscriptions) || 0;
    el.pushSummary.textContent = `Push: ${n} subscription${n === 1 ? '' : 's'}`;
    el.pushSummary.title = 'Web Push subscriptions on this server';
  }

  function statsOf(id) {
    const s = state.push.bulk.get(id);
    if (s) return s;
    const one = state.push.single.get(id);
    return one ? one.stats : undefined;
  }

  function applyStats(e) {
    const span = e.parts.stats;
    if (state.push.enabled === false) {
      span.hidden = true;
      span.replaceChildren();
      return;
    }
    span.hidden = false;
    if (state.push.enabled === null) {
      span.dataset.state = 'loading';
      span.textContent = 'push …';
      return;
    }
    const s = statsOf(e.item.id);
    if (!s) {
      span.dataset.state = 'none';
      span.textContent = 'push: no deliveries yet';
      span.title = 'No delivery jobs recorded for this item yet';
      return;
    }
    const busy = s.pending > 0 || s.jobs_done < s.jobs;
    span.dataset.state = busy ? 'sending' : 'done';
    span.replaceChildren(
      'push ',
      h('b', { class: 'nr-n-sent' }, s.sent), ' sent · ',
      h('b', { class: s.failed ? 'nr-n-failed nr-nonzero' : 'nr-n-failed' }, s.failed), ' failed · ',
      h('b', { class: 'nr-n-removed' }, s.removed), ' removed',
      ...(s.funnel ? [' · ', h('b', { class: 'nr-n-shown' }, s.funnel.shown), ' shown · ',
        h('b', { class: 'nr-n-clicked' }, s.funnel.clicked), ' clicked'] : []),
      ...(busy ? [h('span', { class: 'nr-sending' }, ' · sending…')] : []));
    span.title = `${s.jobs_done} of ${s.jobs} delivery jobs done; ${s.pending} send${s.pending === 1 ? '' : 's'} waiting to retry`;
  }

  function scheduleStats(ms) {
    clearTimeout(state.push.timer);
    state.push.timer = setTimeout(refreshStats, ms);
  }

  function refreshStatsSoon() {
    if (state.token && state.push.enabled !== false) scheduleStats(300);
  }

  async function refreshStats() {
    clearTimeout(state.push.timer);
    if (!state.token || state.push.busy) return;
    if (document.visibilityState === 'hidden') return; // resumed on visibilitychange
    const gen = state.gen;
    state.push.busy = true;
    try {
      const r = await api('GET', '/push/stats');
      if (r.stale || gen !== state.gen) return;
      if (r.ok) {
        takeStats(r.data);
        await fetchMissingStats(gen);
        if (gen !== state.gen) return;
        for (const e of state.items.values()) applyStats(e);
        scheduleStats(STATS_EVERY);
      } else if (r.status === 503 && r.error.code === 'push_disabled') {
        setPushEnabled(false);
        scheduleStats(STATS_OFF_EVERY);
      } else if (r.status !== 401) {
        scheduleStats(STATS_EVERY * 2); // keep the last counts shown
      }
    } finally {
      if (gen === state.gen) state.push.busy = false;
    }
  }

  // The bulk answer holds the 50 items with the newest events; ask for the
  // few listed items outside it one by one, now and then.
  async function fetchMissingStats(gen) {
    const now = Date.now();
    const want = Array.from(state.items.values())
      .filter((e) => !state.push.bulk.has(e.item.id))
      .filter((e) => {
        const one = state.push.single.get(e.item.id);
        return !one || now - one.at > SINGLE_STATS_MAX_AGE;
      })
      .sort((a, b) => b.item.published_seq - a.item.published_seq)
      .slice(0, SINGLE_STATS_PER_TICK);
    await Promise.all(want.map(async (e) => {
      const r = await api('GET', `/push/stats?item=${encodeURIComponent(e.item.id)}`);
      if (gen !== state.gen || !r.ok) return;
      const s = ((r.data && r.data.items) || []).find((x) => x.id === e.item.id);
      state.push.single.set(e.item.id, { at: Date.now(), stats: s });
    }));
    for (const id of state.push.single.keys()) {
      if (!state.items.has(id)) state.push.single.delete(id);
    }
  }

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && state.token) refreshStats();
  });

  // ---------------------------------------------------------------- start

  renewKey();
  updateCompose();
  updateEmpty();
  loadTaxonomy();
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) trySignIn(saved, true);
  else el.token.focus();
})();

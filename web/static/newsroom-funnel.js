// The funnel of each alert in the console's live list: targeted → sent →
// shown → clicked (percentages of targeted), what did not go out (failed,
// removed, skipped by reason, pending), the times to sent and to shown (p50
// and p90 from the moment the alert went out), the counts per platform, and
// a chart of shown and clicked per minute over the alert's first hour.
//
// A panel opens under the alert (the Funnel button) and reads GET
// /api/v1/push/stats?item=ID every POLL_EVERY while it is open, on screen
// and the tab visible; closing it, scrolling it away or hiding the tab stops
// the asking.
//
// newsroom.js owns the page state and hands in its helpers; everything the
// server sends goes into the page as text, and the chart is SVG built with
// createElementNS (no library, no markup parsed).

const POLL_EVERY = 3000;
const SVG = 'http://www.w3.org/2000/svg';
const STEPS = [
  ['targeted', 'targeted'],
  ['sent', 'sent'],
  ['shown', 'shown'],
  ['clicked', 'clicked'],
];
const SKIP_WORDS = { priority: 'below their minimum priority', quiet_hours: 'in quiet hours', cap: 'over their hourly cap' };
const PLATFORM_WORDS = { web: 'Web Push', android: 'Android', ios: 'iOS' };
const MINUTES = 60;

// svg builds an SVG element with attributes and children.
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return node;
}

// pct is n of all as a whole percent ("—" with nothing targeted).
export function pct(n, all) {
  if (!all) return '—';
  const p = (100 * n) / all;
  return `${p > 0 && p < 1 ? p.toFixed(1) : Math.round(p)}%`;
}

// secs writes a time in seconds for people.
export function secs(s) {
  if (typeof s !== 'number' || !Number.isFinite(s)) return '—';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 90) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

const times = (p) => (p ? `p50 ${secs(p.p50)} · p90 ${secs(p.p90)}` : '—');
const sum = (a) => (a || []).reduce((x, y) => x + (Number(y) || 0), 0);

// createFunnel wires the panels. deps: api, h, fmtTime. Answers {toggle(e),
// forget(id), stop()}; e is a live-list entry {item, li, parts}.
export function createFunnel(deps) {
  const { api, h, fmtTime } = deps;
  const panels = new Map(); // item id → {e, node, onScreen, busy, data, error}
  let timer = 0;
  const watch = typeof IntersectionObserver === 'function'
    ? new IntersectionObserver((entries) => {
      let back = false;
      for (const en of entries) {
        const p = panels.get(en.target.dataset.funnel);
        if (!p) continue;
        if (en.isIntersecting && !p.onScreen) back = true;
        p.onScreen = en.isIntersecting;
      }
      if (back) poll();
    })
    : null;

  function toggle(e) {
    if (panels.has(e.item.id)) close(e.item.id);
    else openPanel(e);
  }

  function openPanel(e) {
    const node = h('div', {
      class: 'nr-funnel', 'data-funnel': e.item.id, role: 'region', lang: 'en', dir: 'ltr',
      'aria-label': `Funnel of the alert: ${e.item.text.slice(0, 60)}`,
    }, h('p', { class: 'nr-hint' }, 'Loading the funnel…'));
    const p = { e, node, onScreen: true, busy: false, data: undefined, error: '' };
    panels.set(e.item.id, p);
    e.li.append(node);
    e.parts.funnel.setAttribute('aria-expanded', 'true');
    e.parts.funnel.textContent = 'Hide funnel';
    if (watch) watch.observe(node);
    poll();
  }

  function close(id) {
    const p = panels.get(id);
    if (!p) return;
    panels.delete(id);
    if (watch) watch.unobserve(p.node);
    p.node.remove();
    p.e.parts.funnel.setAttribute('aria-expanded', 'false');
    p.e.parts.funnel.textContent = 'Funnel';
    if (panels.size === 0) clearTimeout(timer);
  }

  // poll asks for the stats of every open panel on screen, then again in
  // POLL_EVERY; nothing to show (or a hidden tab) stops it until a panel
  // opens, scrolls back or the tab comes back.
  async function poll() {
    clearTimeout(timer);
    if (document.visibilityState === 'hidden') return;
    const due = Array.from(panels.values()).filter((p) => p.onScreen && !p.busy);
    await Promise.all(due.map(fetchOne));
    clearTimeout(timer);
    if (Array.from(panels.values()).some((p) => p.onScreen)) timer = setTimeout(poll, POLL_EVERY);
  }

  async function fetchOne(p) {
    p.busy = true;
    const id = p.e.item.id;
    const r = await api('GET', `/push/stats?item=${encodeURIComponent(id)}`);
    p.busy = false;
    if (r.stale || panels.get(id) !== p) return;
    if (r.ok) {
      const s = ((r.data && r.data.items) || []).find((x) => x.id === id);
      p.data = s ? s.funnel || null : null;
      p.error = '';
    } else if (r.status === 503 && r.error.code === 'push_disabled') {
      p.data = null;
      p.error = 'Web Push is off on this server: no alert is sent.';
    } else if (r.status !== 401) {
      p.error = `Could not read the funnel: ${r.error.message}`;
    }
    render(p);
  }

  function render(p) {
    const f = p.data;
    const parts = [];
    if (p.error) parts.push(h('p', { class: 'nr-field-error', role: 'alert' }, p.error));
    if (f === undefined) {
      if (!p.error) parts.push(h('p', { class: 'nr-hint' }, 'Loading the funnel…'));
      p.node.replaceChildren(...parts);
      return;
    }
    if (!f) {
      parts.push(h('p', { class: 'nr-hint', 'data-funnel-state': 'none' },
        'No funnel yet: no delivery job of this alert has been seen.'));
      p.node.replaceChildren(...parts);
      return;
    }
    p.node.dataset.pending = f.pending > 0 ? 'true' : 'false';
    parts.push(
      h('p', { class: 'nr-funnel-when' }, 'Alert sent ',
        h('time', { datetime: f.alerted_at, title: f.alerted_at }, fmtTime(f.alerted_at)),
        f.pending > 0 ? h('span', { class: 'nr-sending' }, ' · sending…') : null),
      steps(f),
      rest(f),
      h('p', { class: 'nr-funnel-times' },
        h('span', { 'data-time': 'sent' }, `Time to sent: ${times(f.time_to_sent)}`), ' · ',
        h('span', { 'data-time': 'shown' }, `Time to shown: ${times(f.time_to_shown)}`)),
      platforms(f),
      chart(f));
    p.node.replaceChildren(...parts);
  }

  function steps(f) {
    return h('ol', { class: 'nr-funnel-steps' }, STEPS.map(([key, label]) => {
      const n = Number(f[key]) || 0;
      const width = f.targeted ? Math.min(100, (100 * n) / f.targeted) : 0;
      return h('li', { class: 'nr-funnel-step', 'data-step': key, 'data-count': n },
        h('span', { class: 'nr-funnel-n' }, String(n)),
        h('span', { class: 'nr-funnel-label' }, label),
        h('span', { class: 'nr-funnel-pct', title: 'of targeted' }, pct(n, f.targeted)),
        svg('svg', { class: 'nr-funnel-bar', viewBox: '0 0 100 6', preserveAspectRatio: 'none', 'aria-hidden': 'true' },
          svg('rect', { class: 'nr-funnel-bar-bg', x: 0, y: 0, width: 100, height: 6 }),
          svg('rect', { class: 'nr-funnel-bar-fill', x: 0, y: 0, width: width.toFixed(2), height: 6 })));
    }));
  }

  // rest says what did not go out: failed, removed, skipped by reason and
  // still pending.
  function rest(f) {
    const items = [
      ['failed', f.failed, 'failed'],
      ['removed', f.removed, 'removed (the subscription is gone)'],
      ['pending', f.pending, 'pending'],
    ];
    for (const [reason, n] of Object.entries(f.skipped || {})) {
      items.push([`skipped-${reason}`, n, `skipped: ${SKIP_WORDS[reason] || reason}`]);
    }
    return h('ul', { class: 'nr-funnel-rest' }, items.map(([key, n, words]) =>
      h('li', { 'data-rest': key, 'data-count': Number(n) || 0, class: n ? 'nr-nonzero' : null },
        h('b', null, String(Number(n) || 0)), ` ${words}`)));
  }

  function platforms(f) {
    const rows = Object.entries(f.platforms || {});
    if (rows.length === 0) return null;
    const cols = ['targeted', 'sent', 'shown', 'clicked', 'failed', 'removed'];
    return h('table', { class: 'nr-funnel-platforms' },
      h('caption', { class: 'nr-sr-only' }, 'The funnel by platform'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Platform'), cols.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, rows.map(([name, c]) => h('tr', { 'data-platform': name },
        h('th', { scope: 'row' }, PLATFORM_WORDS[name] || name),
        cols.map((k) => h('td', null, String(Number(c[k]) || 0)))))));
  }

  // chart draws shown and clicked per minute of the first hour: two bars a
  // minute, scaled to the busiest minute, with a line at "now" while the
  // hour lasts.
  function chart(f) {
    const fh = f.first_hour || {};
    const shown = Array.from({ length: MINUTES }, (_, i) => Number((fh.shown || [])[i]) || 0);
    const clicked = Array.from({ length: MINUTES }, (_, i) => Number((fh.clicked || [])[i]) || 0);
    const W = 600;
    const H = 100;
    const top = 12;
    const max = Math.max(1, ...shown, ...clicked);
    const y = (n) => H - ((H - top) * n) / max;
    const bars = [];
    for (let i = 0; i < MINUTES; i++) {
      if (shown[i]) {
        bars.push(svg('rect', { class: 'nr-chart-shown', x: i * 10 + 1, y: y(shown[i]).toFixed(1), width: 4, height: (H - y(shown[i])).toFixed(1) },
          svg('title', null, `minute ${i + 1}: ${shown[i]} shown`)));
      }
      if (clicked[i]) {
        bars.push(svg('rect', { class: 'nr-chart-clicked', x: i * 10 + 5, y: y(clicked[i]).toFixed(1), width: 4, height: (H - y(clicked[i])).toFixed(1) },
          svg('title', null, `minute ${i + 1}: ${clicked[i]} clicked`)));
      }
    }
    const elapsed = (Date.now() - Date.parse(f.alerted_at)) / 60000;
    const now = elapsed >= 0 && elapsed < MINUTES
      ? svg('line', { class: 'nr-chart-now', x1: (elapsed * 10).toFixed(1), x2: (elapsed * 10).toFixed(1), y1: top, y2: H })
      : null;
    const total = `${sum(shown)} shown and ${sum(clicked)} clicked in the first hour`;
    return h('figure', { class: 'nr-funnel-chart' },
      svg('svg', { viewBox: `0 0 ${W} ${H + 14}`, role: 'img', 'aria-label': `Per minute over the first hour: ${total}`, 'data-chart': 'first-hour' },
        svg('line', { class: 'nr-chart-axis', x1: 0, x2: W, y1: H, y2: H }),
        svg('text', { class: 'nr-chart-label', x: 2, y: 9 }, `${max} / min`),
        ...bars,
        now,
        svg('text', { class: 'nr-chart-label', x: 0, y: H + 12 }, '0'),
        svg('text', { class: 'nr-chart-label', x: 300, y: H + 12, 'text-anchor': 'middle' }, '30 min'),
        svg('text', { class: 'nr-chart-label', x: W, y: H + 12, 'text-anchor': 'end' }, '60 min')),
      h('figcaption', null,
        h('span', { class: 'nr-key nr-key-shown' }, 'shown'), ' ',
        h('span', { class: 'nr-key nr-key-clicked' }, 'clicked'),
        ` per minute · ${total}`));
  }

  // forget closes the panel of an item that left the list.
  function forget(id) {
    close(id);
  }

  function stop() {
    for (const id of Array.from(panels.keys())) close(id);
    clearTimeout(timer);
  }

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && panels.size) poll();
    else clearTimeout(timer);
  });

  return { toggle, forget, stop, isOpen: (id) => panels.has(id) };
}

// The console's Scheduled list: items posted with publish_at that wait for
// their time (GET /api/v1/items?status=scheduled, oldest first), each with
// edit (PATCH, publish_at included) and cancel (DELETE, after a
// confirmation). Once published an item leaves this list and arrives in the
// live list as any other; the list is asked again every REFRESH_EVERY and
// whenever a live frame comes (refreshSoon).
//
// newsroom.js owns the page state and hands in its helpers; everything the
// server sends goes into the page as text.

const REFRESH_EVERY = 10000;

const pad = (n) => String(n).padStart(2, '0');

// rfc3339Local turns a datetime-local value (the editor's local time) into
// RFC 3339 with the local offset; '' when empty or not a time.
export function rfc3339Local(value) {
  if (!value) return '';
  const d = new Date(value); // a date-time without offset is local time
  if (Number.isNaN(d.getTime())) return '';
  const off = -d.getTimezoneOffset();
  const a = Math.abs(off);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `${off >= 0 ? '+' : '-'}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

// localInput is the datetime-local value of an RFC 3339 time.
export function localInput(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// createScheduled wires the list. deps: api, h, ask, fmtTime, langDir,
// labels (priority → word), canAlert, showApiError, clearErrors,
// clearFieldError, onError (a message for the page). Answers {start, stop,
// refresh, refreshSoon, add}.
export function createScheduled(deps) {
  const { api, h, ask, fmtTime, langDir, labels, canAlert, showApiError, clearErrors, clearFieldError } = deps;
  const list = document.querySelector('#nr-scheduled');
  const empty = document.querySelector('#nr-scheduled-empty');
  const error = document.querySelector('#nr-scheduled-error');
  const entries = new Map(); // id → {item, li, form}
  let timer = 0;
  let soon = 0;
  let asked = 0;
  let on = false;

  const byTime = (a, b) => Date.parse(a.publish_at) - Date.parse(b.publish_at);

  function render(e) {
    const it = e.item;
    const when = h('time', { class: 'nr-time', datetime: it.publish_at, title: it.publish_at }, `at ${fmtTime(it.publish_at)}`);
    e.li.dataset.priority = it.priority;
    e.li.lang = it.lang;
    e.li.dir = langDir(it.lang);
    e.head.replaceChildren(...[
      h('span', { class: 'nr-prio' }, labels[it.priority] || it.priority), when,
      h('span', { class: 'nr-lang-tag' }, it.lang),
      it.alert ? h('span', { class: 'nr-badge nr-badge-alert', title: 'Sent as a push notification when published' }, 'alert') : null,
      h('span', { class: 'nr-meta-id' }, it.id),
    ].filter(Boolean));
    e.text.textContent = it.text;
    e.edit.setAttribute('aria-label', `Edit scheduled: ${it.text.slice(0, 60)}`);
    e.cancel.setAttribute('aria-label', `Cancel scheduled: ${it.text.slice(0, 60)}`);
  }

  function entry(it) {
    const e = {
      item: it, form: null,
      head: h('div', { class: 'nr-item-head', lang: 'en', dir: 'ltr' }),
      text: h('p', { class: 'nr-item-text' }),
      error: h('p', { class: 'nr-field-error', role: 'alert' }),
      edit: h('button', { type: 'button', class: 'nr-btn nr-btn-small', 'data-action': 'edit' }, 'Edit'),
      cancel: h('button', { type: 'button', class: 'nr-btn nr-btn-small nr-btn-danger-quiet', 'data-action': 'cancel' }, 'Cancel'),
    };
    e.li = h('li', { class: 'nr-item nr-scheduled-item', 'data-item-id': it.id },
      e.head, e.text,
      h('div', { class: 'nr-item-foot', lang: 'en', dir: 'ltr' }, e.error, h('span', { class: 'nr-actions' }, e.edit, e.cancel)));
    e.edit.addEventListener('click', () => openEditor(e));
    e.cancel.addEventListener('click', () => cancelItem(e));
    render(e);
    return e;
  }

  // take makes the list the answer's items, keeping open editors.
  function take(items) {
    const sorted = items.filter((it) => it.status === 'scheduled').sort(byTime);
    const ids = new Set(sorted.map((it) => it.id));
    for (const [id, e] of entries) {
      if (!ids.has(id)) {
        e.li.remove();
        entries.delete(id);
      }
    }
    let ref = list.firstElementChild;
    for (const it of sorted) {
      let e = entries.get(it.id);
      if (!e) {
        e = entry(it);
        entries.set(it.id, e);
      } else if (!e.form) {
        e.item = it;
        render(e);
      }
      if (e.li === ref) ref = ref.nextElementSibling;
      else list.insertBefore(e.li, ref);
    }
    empty.hidden = entries.size > 0;
  }

  async function refresh() {
    if (!on) return;
    const n = ++asked;
    const r = await api('GET', '/items?status=scheduled');
    if (r.stale || n !== asked || !on) return;
    if (r.ok && r.data) {
      error.textContent = '';
      take(r.data.items || []);
    } else if (r.status !== 401) {
      error.textContent = `Could not list the scheduled items: ${r.error.message}`;
    }
  }

  function refreshSoon() {
    if (!on) return;
    clearTimeout(soon);
    soon = setTimeout(refresh, 200);
  }

  function add(it) {
    take([...Array.from(entries.values(), (e) => e.item).filter((x) => x.id !== it.id), it]);
    refreshSoon();
  }

  function start() {
    on = true;
    clearInterval(timer);
    timer = setInterval(refresh, REFRESH_EVERY);
    refresh();
  }

  function stop() {
    on = false;
    clearInterval(timer);
    clearTimeout(soon);
    for (const e of entries.values()) e.li.remove();
    entries.clear();
    empty.hidden = false;
    error.textContent = '';
  }

  function openEditor(e) {
    if (e.form) {
      e.form.querySelector('textarea').focus();
      return;
    }
    const it = e.item;
    const uid = `nr-sched-${it.id}`;
    const err = (field) => h('p', { class: 'nr-field-error', 'data-sched-error-for': field });
    const text = h('textarea', { name: 'text', id: `${uid}-text`, rows: 3, dir: langDir(it.lang), lang: it.lang });
    text.value = it.text;
    const priority = h('select', { name: 'priority' },
      Object.entries(labels).reverse().map(([v, l]) => h('option', { value: v }, l)));
    priority.value = it.priority;
    const at = h('input', { name: 'publish_at', type: 'datetime-local', step: 60, value: localInput(it.publish_at) });
    const alert = h('input', { type: 'checkbox', name: 'alert', checked: it.alert, role: 'switch' });
    const general = h('p', { class: 'nr-edit-error', role: 'alert' });
    const save = h('button', { type: 'submit', class: 'nr-btn nr-btn-primary nr-btn-small' }, 'Save');
    const close = h('button', { type: 'button', class: 'nr-btn nr-btn-small' }, 'Close');
    const form = h('form', { class: 'nr-edit', novalidate: true, autocomplete: 'off', lang: 'en', dir: 'ltr', 'aria-label': 'Edit scheduled item' },
      h('div', { class: 'nr-field' }, h('label', { for: `${uid}-text` }, 'Text'), text, err('text')),
      h('div', { class: 'nr-row' },
        h('div', { class: 'nr-field' }, h('label', null, 'Priority', priority), err('priority')),
        h('div', { class: 'nr-field' }, h('label', null, 'Publish at', at), err('publish_at'))),
      canAlert() ? h('div', { class: 'nr-field' }, h('label', { class: 'nr-check' }, alert, 'Alert when published'), err('alert')) : null,
      general,
      h('div', { class: 'nr-edit-actions' }, save, close));
    e.form = form;
    e.li.classList.add('nr-editing');
    e.li.append(form);
    form.addEventListener('input', (ev) => {
      if (ev.target.name) clearFieldError(form, 'data-sched-error-for', ev.target.name);
      general.textContent = '';
    });
    form.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') {
        ev.preventDefault();
        closeEditor(e);
      }
    });
    close.addEventListener('click', () => closeEditor(e));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors(form, 'data-sched-error-for');
      general.textContent = '';
      const p = {};
      if (text.value !== it.text) p.text = text.value;
      if (priority.value !== it.priority) p.priority = priority.value;
      const when = rfc3339Local(at.value);
      if (when === '') {
        showApiError({ code: 'invalid_publish_at', field: 'publish_at', message: 'Choose a date and time.' }, form, 'data-sched-error-for', general, true);
        return;
      }
      if (Date.parse(when) !== Date.parse(it.publish_at)) p.publish_at = when;
      if (canAlert() && alert.checked !== it.alert) p.alert = alert.checked;
      if (Object.keys(p).length === 0) {
        general.textContent = 'Nothing to save: no field was changed.';
        return;
      }
      save.disabled = true;
      const r = await api('PATCH', `/items/${encodeURIComponent(it.id)}`, { json: p });
      if (r.stale) return;
      save.disabled = false;
      if (r.ok && r.data) {
        closeEditor(e);
        e.item = r.data;
        render(e);
        refreshSoon();
        return;
      }
      if (r.status === 401) return;
      showApiError(r.error, form, 'data-sched-error-for', general, true);
    });
    text.focus();
  }

  function closeEditor(e) {
    if (!e.form) return;
    e.form.remove();
    e.form = null;
    e.li.classList.remove('nr-editing');
    if (e.li.isConnected) e.edit.focus();
    refreshSoon();
  }

  async function cancelItem(e) {
    e.error.textContent = '';
    const ok = await ask({
      title: 'Cancel this scheduled item?',
      text: `“${e.item.text}” will never be published${e.item.alert ? ' and its alert never sent' : ''}. This cannot be undone.`,
      ok: 'Cancel item',
    });
    if (!ok) {
      if (e.li.isConnected) e.cancel.focus();
      return;
    }
    e.cancel.disabled = true;
    const r = await api('DELETE', `/items/${encodeURIComponent(e.item.id)}`);
    if (r.stale) return;
    e.cancel.disabled = false;
    if (r.ok) {
      e.li.remove();
      entries.delete(e.item.id);
      empty.hidden = entries.size > 0;
      refreshSoon();
      return;
    }
    if (r.status !== 401) e.error.textContent = `Not cancelled: ${r.error.message}`;
  }

  return { start, stop, refresh, refreshSoon, add };
}

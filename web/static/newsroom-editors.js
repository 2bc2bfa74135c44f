// The console's Editors page, for admins: the editors who can sign in
// (GET /api/v1/editors), a new account (its token shown once), a role
// change, a token rotation (the new token shown once) and a revocation.
// Editors from the editors file or the environment are listed but cannot be
// changed here (the server answers 409 static_editor).
//
// newsroom.js owns the page state and hands in its helpers; everything the
// server sends goes into the page as text.

const ROLES = [
  ['reporter', 'Reporter'],
  ['editor', 'Editor'],
  ['admin', 'Admin'],
];

// createEditors wires the page. deps: api, h, showApiError, clearErrors,
// clearFieldError, ask (a confirm dialog answering a promise of a
// boolean), fmtTime. Answers {take(list), reset()}.
export function createEditors(deps) {
  const { api, h, showApiError, clearErrors, clearFieldError, ask, fmtTime } = deps;
  const $ = (sel) => document.querySelector(sel);
  const el = {
    form: $('#nr-editor-new'),
    name: $('#nr-new-name'),
    role: $('#nr-new-role'),
    create: $('#nr-new-create'),
    formError: $('#nr-editor-new-error'),
    once: $('#nr-token-once'),
    onceTitle: $('#nr-token-once-title'),
    onceValue: $('#nr-token-once-value'),
    copy: $('#nr-token-copy'),
    copied: $('#nr-token-copied'),
    done: $('#nr-token-done'),
    error: $('#nr-editors-error'),
    rows: $('#nr-editor-rows'),
  };
  let busy = false;

  // showToken shows a token once: it is never kept anywhere but this field,
  // which "I have copied it" (or the next token, or signing out) clears.
  function showToken(name, token, why) {
    el.onceTitle.textContent = `${why} token for ${name}`;
    el.onceValue.value = token;
    el.copied.textContent = '';
    el.once.hidden = false;
    el.onceValue.focus();
    el.onceValue.select();
  }

  function hideToken() {
    el.onceValue.value = '';
    el.copied.textContent = '';
    el.once.hidden = true;
  }

  el.copy.addEventListener('click', async () => {
    const token = el.onceValue.value;
    if (!token) return;
    try {
      await navigator.clipboard.writeText(token);
      el.copied.textContent = 'Copied.';
    } catch {
      // No clipboard API (not a secure context): leave it selected.
      el.onceValue.focus();
      el.onceValue.select();
      el.copied.textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
    }
  });
  el.done.addEventListener('click', () => {
    hideToken();
    el.name.focus();
  });

  function roleSelect(ed) {
    const sel = h('select', {
      class: 'nr-role-select', 'data-action': 'role', 'aria-label': `Role of ${ed.name}`,
      disabled: ed.static, title: ed.static ? 'Set in the editors file or the environment' : null,
    }, ROLES.map(([v, label]) => h('option', { value: v }, label)));
    sel.value = ed.role;
    return sel;
  }

  function row(ed) {
    const fixed = ed.static ? 'Set in the editors file or the environment' : null;
    return h('tr', { 'data-editor': ed.name, 'data-static': ed.static ? 'true' : 'false' },
      h('th', { scope: 'row', class: 'nr-editor-name' }, ed.name),
      h('td', null, roleSelect(ed)),
      h('td', null, ed.created ? h('time', { datetime: ed.created, title: ed.created }, fmtTime(ed.created)) : '—'),
      h('td', null, ed.last_used
        ? h('time', { datetime: ed.last_used, title: `${ed.last_used} (on this instance)` }, fmtTime(ed.last_used))
        : h('span', { class: 'nr-hint' }, 'not yet')),
      h('td', null, h('span', { class: ed.static ? 'nr-kind nr-kind-static' : 'nr-kind', title: fixed }, ed.static ? 'static' : 'runtime')),
      h('td', { class: 'nr-editor-actions' },
        h('button', { type: 'button', class: 'nr-btn nr-btn-small', 'data-action': 'rotate', disabled: ed.static,
          title: fixed, 'aria-label': `Rotate the token of ${ed.name}` }, 'Rotate'),
        h('button', { type: 'button', class: 'nr-btn nr-btn-small nr-btn-danger-quiet', 'data-action': 'revoke', disabled: ed.static,
          title: fixed, 'aria-label': `Revoke ${ed.name}` }, 'Revoke'),
        h('p', { class: 'nr-field-error', 'data-row-error': '' })));
  }

  // take shows the list (GET /api/v1/editors's editors), keeping the focus
  // on the row it was in.
  function take(list) {
    const active = document.activeElement;
    const focusName = active && el.rows.contains(active) ? active.closest('tr')?.dataset.editor : null;
    const focusAction = focusName ? active.dataset.action : null;
    el.rows.replaceChildren(...(list || []).map(row));
    if (focusName) {
      const tr = el.rows.querySelector(`tr[data-editor="${CSS.escape(focusName)}"]`);
      const again = tr && tr.querySelector(`[data-action="${CSS.escape(focusAction || 'role')}"]`);
      if (again && !again.disabled) again.focus();
    }
  }

  // reload lists the editors again; an answer overtaken by a later
  // request's is dropped.
  let asked = 0;
  async function reload() {
    const n = ++asked;
    const r = await api('GET', '/editors');
    if (r.stale || n !== asked) return;
    if (r.ok && r.data) {
      take(r.data.editors);
      return;
    }
    if (r.status !== 401) el.error.textContent = `Could not list the editors: ${r.error.message}`;
  }

  function rowError(tr, error) {
    const p = tr && tr.querySelector('[data-row-error]');
    if (p) {
      p.textContent = error.message;
      p.title = error.code || '';
    } else {
      el.error.textContent = error.message;
    }
  }

  el.form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (busy) return;
    clearErrors(el.form, 'data-editor-error-for');
    el.formError.textContent = '';
    el.error.textContent = '';
    busy = true;
    el.create.disabled = true;
    const name = el.name.value.trim();
    const r = await api('POST', '/editors', { json: { name, role: el.role.value } });
    if (r.stale) return;
    busy = false;
    el.create.disabled = false;
    if (r.ok && r.data) {
      el.name.value = '';
      showToken(r.data.name, r.data.token, 'New');
      reload();
      return;
    }
    if (r.status === 401) return;
    showApiError(r.error, el.form, 'data-editor-error-for', el.formError, true);
  });
  el.form.addEventListener('input', (ev) => {
    if (ev.target.name) clearFieldError(el.form, 'data-editor-error-for', ev.target.name);
    el.formError.textContent = '';
  });

  el.rows.addEventListener('change', async (ev) => {
    const sel = ev.target.closest('select[data-action=role]');
    if (!sel) return;
    const tr = sel.closest('tr');
    const name = tr.dataset.editor;
    const err = tr.querySelector('[data-row-error]');
    err.textContent = '';
    sel.disabled = true;
    const r = await api('PATCH', `/editors/${encodeURIComponent(name)}`, { json: { role: sel.value } });
    if (r.stale) return;
    sel.disabled = false;
    if (r.ok) {
      reload();
      return;
    }
    if (r.status === 401) return;
    rowError(tr, r.error);
    sel.setAttribute('aria-invalid', 'true');
    sel.focus();
  });

  el.rows.addEventListener('click', async (ev) => {
    const btn = ev.target.closest('button[data-action]');
    if (!btn || btn.disabled) return;
    const tr = btn.closest('tr');
    const name = tr.dataset.editor;
    tr.querySelector('[data-row-error]').textContent = '';
    if (btn.dataset.action === 'rotate') {
      const ok = await ask({
        title: `Rotate ${name}'s token?`,
        text: `The current token stops working at once, on every instance; ${name} signs in again with the new one, which is shown once.`,
        ok: 'Rotate',
      });
      if (!ok) return btn.isConnected && btn.focus();
      btn.disabled = true;
      const r = await api('POST', `/editors/${encodeURIComponent(name)}/token`);
      if (r.stale) return;
      btn.disabled = false;
      if (r.ok && r.data) {
        showToken(r.data.name, r.data.token, 'New');
        reload();
        return;
      }
      if (r.status !== 401) rowError(tr, r.error);
    } else if (btn.dataset.action === 'revoke') {
      const ok = await ask({
        title: `Revoke ${name}?`,
        text: `${name}'s token stops working at once, on every instance, and the account is removed. This cannot be undone.`,
        ok: 'Revoke',
      });
      if (!ok) return btn.isConnected && btn.focus();
      btn.disabled = true;
      const r = await api('DELETE', `/editors/${encodeURIComponent(name)}`);
      if (r.stale) return;
      btn.disabled = false;
      if (r.ok) {
        await reload();
        el.name.focus();
        return;
      }
      if (r.status !== 401) rowError(tr, r.error);
    }
  });

  function reset() {
    hideToken();
    el.rows.replaceChildren();
    el.name.value = '';
    el.error.textContent = '';
    el.formError.textContent = '';
    clearErrors(el.form, 'data-editor-error-for');
    busy = false;
    el.create.disabled = false;
  }

  return { take, reload, reset };
}

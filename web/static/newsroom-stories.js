// The console's Stories page, for editors and admins: the open and closed
// stories (GET /api/v1/stories?status=all, newest first), a new story
// (POST /api/v1/stories: slug, a title per language, regions, topics), an
// edit of an open story's titles, regions and topics (PATCH) and closing it
// (POST .../close, after a confirmation). It also keeps the open stories
// for the story pickers of the compose form and of corrections
// (fillPicker).
//
// newsroom.js owns the page state and hands in its helpers; everything the
// server sends goes into the page as text.

const REFRESH_EVERY = 60000; // other editors' stories reach the pickers within this

// createStories wires the page. deps: api, h, ask, fmtTime, showApiError,
// clearErrors, clearFieldError, taxonomy (a function answering the
// taxonomy or null), termName, langDir, onChange (called when the open
// stories changed). Answers {start, stop, reload, buildChoices,
// fillPicker, title, find}.
export function createStories(deps) {
  const { api, h, ask, fmtTime, showApiError, clearErrors, clearFieldError, taxonomy, termName, langDir, onChange } = deps;
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const ATTR = 'data-story-error-for';
  const el = {
    form: $('#nr-story-new'),
    slug: $('#nr-story-slug'),
    titles: $('[data-story-titles]'),
    create: $('#nr-story-create'),
    status: $('#nr-story-status'),
    formError: $('#nr-story-new-error'),
    error: $('#nr-stories-error'),
    list: $('#nr-story-list'),
    empty: $('#nr-stories-empty'),
  };
  let stories = []; // every story, newest first (as the server lists them)
  const drawn = new WeakMap(); // li → the JSON of the story it shows
  let timer = 0;
  let asked = 0;
  let on = false;
  let busy = false;

  const isOpen = (s) => s.status === 'open';
  const find = (slug) => stories.find((s) => s.slug === slug);

  // title answers a story's title for a language: that language's, else
  // English, else the first there is.
  function title(s, lang) {
    const t = (s && s.title) || {};
    return t[lang] || t.en || Object.values(t)[0] || (s ? s.slug : '');
  }

  function chip(name, term, checked) {
    return h('label', { class: 'nr-chip' },
      h('input', { type: 'checkbox', name, value: term.slug, checked }),
      h('span', null, term.name || term.slug));
  }

  // titleInputs are one text input per taxonomy language, named title.LANG
  // (an error naming title.LANG lands beside it).
  function titleInputs(values, uid) {
    const tax = taxonomy();
    return ((tax && tax.languages) || []).map((l) => {
      const id = `${uid}-title-${l.slug}`;
      const input = h('input', {
        id, name: `title.${l.slug}`, type: 'text', lang: l.slug, dir: langDir(l.slug), maxlength: 120,
        'data-lang': l.slug, 'aria-describedby': `${id}-err`,
      });
      input.value = (values && values[l.slug]) || '';
      return h('div', { class: 'nr-story-title' },
        h('label', { for: id }, `${l.name} · ${l.slug}`), input,
        h('p', { id: `${id}-err`, class: 'nr-field-error', [ATTR]: `title.${l.slug}` }));
    });
  }

  function chipsOf(dim, checked) {
    const tax = taxonomy();
    return ((tax && tax[dim]) || []).map((t) => chip(dim, t, (checked || []).includes(t.slug)));
  }

  // buildChoices fills the new-story form's languages and chips from the
  // taxonomy, keeping what was typed or checked.
  function buildChoices() {
    const keepTitles = readTitles(el.form);
    const keep = (dim) => $$(`input[name=${dim}]:checked`, el.form).map((i) => i.value);
    const regions = keep('regions');
    const topics = keep('topics');
    el.titles.replaceChildren(...titleInputs(keepTitles, 'nr-story-new'));
    $('[data-story-chips=regions]', el.form).replaceChildren(...chipsOf('regions', regions));
    $('[data-story-chips=topics]', el.form).replaceChildren(...chipsOf('topics', topics));
    render();
  }

  // readTitles answers the non-empty titles of a form, by language.
  function readTitles(form) {
    const out = {};
    for (const i of $$('input[data-lang]', form)) {
      if (i.value.trim() !== '') out[i.dataset.lang] = i.value;
    }
    return out;
  }

  const checked = (form, dim) => $$(`input[name=${dim}]:checked`, form).map((i) => i.value);

  // ------------------------------------------------------------ the list

  function row(s) {
    const li = h('li', { class: 'nr-item nr-story', 'data-story': s.slug, 'data-status': s.status });
    renderRow(li, s);
    return li;
  }

  function renderRow(li, s) {
    const titles = Object.entries(s.title || {}).map(([lang, t]) =>
      h('p', { class: 'nr-story-title-text', lang, dir: langDir(lang) }, h('span', { class: 'nr-lang-tag', lang: 'en', dir: 'ltr' }, lang), ' ', t));
    const meta = [];
    if (s.regions && s.regions.length) {
      meta.push(h('span', { class: 'nr-meta-regions', title: 'Regions' }, s.regions.map((r) => termName('regions', r)).join(', ')));
    }
    if (s.topics && s.topics.length) {
      meta.push(h('span', { class: 'nr-meta-topics', title: 'Topics' }, s.topics.map((t) => termName('topics', t)).join(', ')));
    }
    meta.push(h('span', { class: 'nr-meta-id' }, s.slug));
    const when = isOpen(s)
      ? h('time', { class: 'nr-time', datetime: s.created_at, title: `Created ${s.created_at}` }, `opened ${fmtTime(s.created_at)}`)
      : h('time', { class: 'nr-time', datetime: s.closed_at, title: `Closed ${s.closed_at}` }, `closed ${fmtTime(s.closed_at)}`);
    li.dataset.status = s.status;
    drawn.set(li, JSON.stringify(s));
    const kept = $('form', li);
    li.replaceChildren(...[
      h('div', { class: 'nr-item-head', lang: 'en', dir: 'ltr' },
        h('span', { class: isOpen(s) ? 'nr-badge nr-badge-open' : 'nr-badge nr-badge-closed' }, s.status), when,
        h('span', { class: 'nr-note', role: 'status' })),
      ...titles,
      h('div', { class: 'nr-item-meta', lang: 'en', dir: 'ltr' }, ...meta),
      isOpen(s)
        ? h('div', { class: 'nr-item-foot', lang: 'en', dir: 'ltr' },
          h('span', { class: 'nr-hint' }, `updated ${fmtTime(s.updated_at)}`),
          h('span', { class: 'nr-actions' },
            h('button', { type: 'button', class: 'nr-btn nr-btn-small', 'data-action': 'edit', 'aria-label': `Edit the story ${s.slug}` }, 'Edit'),
            h('button', { type: 'button', class: 'nr-btn nr-btn-small nr-btn-danger-quiet', 'data-action': 'close', 'aria-label': `Close the story ${s.slug}` }, 'Close story')))
        : null,
      h('p', { class: 'nr-field-error', 'data-row-error': '' }),
      kept && isOpen(s) ? kept : null,
    ].filter(Boolean));
  }

  function render() {
    const bySlug = new Map($$('li[data-story]', el.list).map((li) => [li.dataset.story, li]));
    const lis = stories.map((s) => {
      const li = bySlug.get(s.slug);
      if (!li) return row(s);
      // Unchanged rows are left alone (an open edit form keeps its focus).
      if (drawn.get(li) !== JSON.stringify(s)) renderRow(li, s);
      return li;
    });
    // Keep the focused element in place: move only what is out of order.
    let ref = el.list.firstElementChild;
    for (const li of lis) {
      if (li === ref) ref = ref.nextElementSibling;
      else el.list.insertBefore(li, ref);
    }
    while (ref) {
      const next = ref.nextElementSibling;
      ref.remove();
      ref = next;
    }
    el.empty.hidden = stories.length > 0;
  }

  // take keeps the stories of GET /api/v1/stories?status=all.
  function take(list) {
    const before = openSlugs();
    stories = list || [];
    render();
    if (openSlugs() !== before) onChange();
  }

  const openSlugs = () => stories.filter(isOpen).map((s) => `${s.slug}\u0000${JSON.stringify(s.title)}`).join('\n');

  // reload lists the stories again; an answer overtaken by a later
  // request's is dropped.
  async function reload() {
    const n = ++asked;
    const r = await api('GET', '/stories?status=all');
    if (r.stale || n !== asked) return;
    if (r.ok && r.data) {
      el.error.textContent = '';
      take(r.data.stories);
      return;
    }
    if (r.status !== 401) el.error.textContent = `Could not list the stories: ${r.error.message}`;
  }

  function schedule() {
    clearTimeout(timer);
    if (on) timer = setTimeout(async () => { await reload(); schedule(); }, REFRESH_EVERY);
  }

  function start() {
    on = true;
    reload();
    schedule();
  }

  function stop() {
    on = false;
    clearTimeout(timer);
    asked++;
    stories = [];
    el.list.replaceChildren();
    el.empty.hidden = false;
    el.error.textContent = '';
    el.formError.textContent = '';
    el.status.textContent = '';
    el.slug.value = '';
    for (const i of $$('input[data-lang]', el.form)) i.value = '';
    for (const i of $$('input[type=checkbox]', el.form)) i.checked = false;
    clearErrors(el.form, ATTR);
    busy = false;
    el.create.disabled = false;
    onChange();
  }

  // ------------------------------------------------------------ pickers

  // fillPicker fills a story select with "None" and the open stories,
  // titled in lang; keep (a slug) stays listed even when it is closed, so a
  // correction shows the item's story as it is. Without keep the choice
  // stays if its story is still open, else it goes back to None.
  function fillPicker(select, lang, keep) {
    let value = keep;
    if (value === undefined) {
      const was = find(select.value);
      value = was && isOpen(was) ? was.slug : '';
    }
    const opts = [h('option', { value: '' }, 'None')];
    for (const s of stories) {
      if (isOpen(s) || s.slug === value) {
        opts.push(h('option', { value: s.slug }, `${title(s, lang)} · ${s.slug}${isOpen(s) ? '' : ' (closed)'}`));
      }
    }
    if (value && !opts.some((o) => o.value === value)) opts.push(h('option', { value }, value));
    select.replaceChildren(...opts);
    select.value = value || '';
  }

  // ------------------------------------------------------------ create

  el.form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (busy) return;
    clearErrors(el.form, ATTR);
    el.formError.textContent = '';
    el.status.textContent = '';
    busy = true;
    el.create.disabled = true;
    const body = {
      slug: el.slug.value.trim(),
      title: readTitles(el.form),
      regions: checked(el.form, 'regions'),
      topics: checked(el.form, 'topics'),
    };
    const r = await api('POST', '/stories', { json: body });
    if (r.stale) return;
    busy = false;
    el.create.disabled = false;
    if (r.ok && r.data) {
      el.slug.value = '';
      for (const i of $$('input[data-lang]', el.form)) i.value = '';
      for (const i of $$('input[type=checkbox]', el.form)) i.checked = false;
      el.status.textContent = `Created ${r.data.slug}`;
      stories = [r.data, ...stories.filter((s) => s.slug !== r.data.slug)];
      render();
      onChange();
      reload();
      el.slug.focus();
      return;
    }
    if (r.status === 401) return;
    showError(r.error, el.form, el.formError);
  });
  el.form.addEventListener('input', (ev) => {
    const name = ev.target.name;
    if (name) clearFieldError(el.form, ATTR, name);
    if (name && name.startsWith('title.')) clearFieldError(el.form, ATTR, 'title');
    el.formError.textContent = '';
    el.status.textContent = '';
  });

  // showError puts an error at its field; "title" (no language) marks every
  // title input.
  function showError(error, form, general) {
    showApiError(error, form, ATTR, general, true);
    if (error.field === 'title') {
      const inputs = $$('input[data-lang]', form);
      for (const i of inputs) i.setAttribute('aria-invalid', 'true');
      if (inputs.length) inputs[0].focus();
    }
  }

  // ------------------------------------------------------------ edit and close

  function openEdit(li, s) {
    let form = $('form', li);
    if (form) {
      $('input', form).focus();
      return;
    }
    const uid = `nr-story-edit-${s.slug}`;
    const general = h('p', { class: 'nr-field-error', role: 'alert' });
    const save = h('button', { type: 'submit', class: 'nr-btn nr-btn-primary nr-btn-small' }, 'Save story');
    const cancel = h('button', { type: 'button', class: 'nr-btn nr-btn-small', 'data-action': 'cancel-edit' }, 'Cancel');
    form = h('form', { class: 'nr-edit nr-story-form', novalidate: true, autocomplete: 'off', 'aria-label': `Edit the story ${s.slug}` },
      h('fieldset', { class: 'nr-field nr-story-titles' }, h('legend', null, 'Title'),
        h('div', { class: 'nr-story-title-list' }, ...titleInputs(s.title, uid)),
        h('p', { class: 'nr-field-error', [ATTR]: 'title' })),
      h('fieldset', { class: 'nr-field nr-chips' }, h('legend', null, 'Regions'),
        h('div', { class: 'nr-chip-list' }, ...chipsOf('regions', s.regions)), h('p', { class: 'nr-field-error', [ATTR]: 'regions' })),
      h('fieldset', { class: 'nr-field nr-chips' }, h('legend', null, 'Topics'),
        h('div', { class: 'nr-chip-list' }, ...chipsOf('topics', s.topics)), h('p', { class: 'nr-field-error', [ATTR]: 'topics' })),
      general,
      h('div', { class: 'nr-edit-actions' }, save, cancel));
    form.addEventListener('input', (ev) => {
      if (ev.target.name) clearFieldError(form, ATTR, ev.target.name);
      if (ev.target.name && ev.target.name.startsWith('title.')) clearFieldError(form, ATTR, 'title');
      general.textContent = '';
    });
    form.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') {
        ev.preventDefault();
        closeEdit(li);
      }
    });
    cancel.addEventListener('click', () => closeEdit(li));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (save.disabled) return;
      clearErrors(form, ATTR);
      general.textContent = '';
      const base = stories.find((x) => x.slug === s.slug) || s;
      const body = {};
      const titles = readTitles(form);
      if (JSON.stringify(sorted(titles)) !== JSON.stringify(sorted(base.title || {}))) body.title = titles;
      for (const dim of ['regions', 'topics']) {
        const now = checked(form, dim);
        const old = base[dim] || [];
        if (now.length !== old.length || now.some((x) => !old.includes(x))) body[dim] = now;
      }
      if (Object.keys(body).length === 0) {
        general.textContent = 'Nothing to save: no field was changed.';
        return;
      }
      save.disabled = true;
      const r = await api('PATCH', `/stories/${encodeURIComponent(s.slug)}`, { json: body });
      if (r.stale) return;
      save.disabled = false;
      if (r.ok && r.data) {
        closeEdit(li);
        replace(r.data);
        note(li, 'Saved');
        return;
      }
      if (r.status === 401) return;
      showError(r.error, form, general);
    });
    li.append(form);
    $('input', form).focus();
  }

  const sorted = (o) => Object.keys(o).sort().map((k) => [k, o[k]]);

  function closeEdit(li) {
    const form = $('form', li);
    if (form) form.remove();
    const b = $('[data-action=edit]', li);
    if (b) b.focus();
  }

  function replace(s) {
    stories = stories.map((x) => (x.slug === s.slug ? s : x));
    render();
    onChange();
  }

  function note(li, text) {
    const n = $('.nr-note', li);
    if (n) n.textContent = text;
  }

  el.list.addEventListener('click', async (ev) => {
    const btn = ev.target.closest('button[data-action]');
    if (!btn || btn.disabled) return;
    const li = btn.closest('li[data-story]');
    const s = li && stories.find((x) => x.slug === li.dataset.story);
    if (!s) return;
    const err = $('[data-row-error]', li);
    if (btn.dataset.action === 'edit') {
      openEdit(li, s);
    } else if (btn.dataset.action === 'close') {
      err.textContent = '';
      const yes = await ask({
        title: `Close “${title(s, 'en')}”?`,
        text: 'No more items can be posted into it and its followers get no more alerts for it. A closed story cannot be opened again.',
        ok: 'Close story',
      });
      if (!yes) return btn.isConnected && btn.focus();
      btn.disabled = true;
      const r = await api('POST', `/stories/${encodeURIComponent(s.slug)}/close`);
      if (r.stale) return;
      btn.disabled = false;
      if (r.ok && r.data) {
        replace(r.data);
        note(li, 'Closed');
        return;
      }
      if (r.status === 401) return;
      err.textContent = r.error.message;
      err.title = r.error.code || '';
    }
  });

  return { start, stop, reload, buildChoices, fillPicker, title, find };
}

// The task lists (Today with overdue, Upcoming, All, Completed, search results), the quick
// add box with the parser's live highlighting and preview, filters and sorting.

import { api, query } from './api.js';
import { dateKey, dayHeading, dueLabel, isOverdue, reminderLabel, startOfDay } from './dates.js';
import { announce, debounce, h, icon, replace } from './dom.js';
import { t } from './i18n.js';
import { recurrenceLabel } from './recurrence.js';
import { completeTask, emit, loadTags, on, reopenTask, showError, state } from './store.js';
import { undoable } from './toast.js';

const PRIORITIES = ['urgent', 'high', 'medium', 'low', 'none'];

/** What each view asks the API for. */
function viewQuery(view, params, zone) {
  const common = { tag: params.tag || undefined, priority: params.priority || undefined, limit: 200 };
  const endOfToday = startOfDay(zone, 1).toISOString();
  switch (view) {
    case 'today': return { ...common, status: 'open', due_before: endOfToday, sort: 'due_at' };
    case 'upcoming': return { ...common, status: 'open', due_after: endOfToday, sort: 'due_at' };
    case 'completed': return { ...common, status: 'done', sort: params.sort || '-updated_at' };
    case 'search': return { ...common, q: params.q, sort: params.sort || 'relevance' };
    default: return { ...common, status: 'open', sort: params.sort || 'due_at,-priority' };
  }
}

/** Groups a view's tasks under headings. */
function groups(view, tasks, zone) {
  if (view === 'today') {
    const overdue = tasks.filter((task) => isOverdue(task, zone));
    const today = tasks.filter((task) => !isOverdue(task, zone));
    return [
      { key: 'overdue', title: t('overdue'), tasks: overdue, tone: 'danger' },
      { key: 'today', title: t('today'), tasks: today },
    ].filter((group) => group.tasks.length);
  }
  if (view === 'upcoming') {
    const byDay = new Map();
    for (const task of tasks) {
      const dayZone = task.all_day ? task.timezone : zone;
      const key = dateKey(new Date(task.due_at), dayZone);
      if (!byDay.has(key)) byDay.set(key, { key, title: dayHeading(new Date(task.due_at), dayZone), tasks: [] });
      byDay.get(key).tasks.push(task);
    }
    return [...byDay.values()];
  }
  return tasks.length ? [{ key: 'all', title: '', tasks }] : [];
}

function emptyText(view, params) {
  switch (view) {
    case 'today': return t('nothing_today');
    case 'upcoming': return t('nothing_upcoming');
    case 'completed': return t('nothing_completed');
    case 'search': return t('nothing_found', { q: params.q || '' });
    default: return t('nothing_all');
  }
}

/** A task row: checkbox, title (opens the task), and its due date, repeat, tags, priority. */
function createRow(task, handlers) {
  const check = h('input', { type: 'checkbox', class: 'check' });
  check.addEventListener('change', () => {
    const current = check.closest('li').task;
    if (check.checked) completeTask(current);
    else reopenTask(current);
  });
  const title = h('button', { type: 'button', class: 'task-title', dir: 'auto' });
  title.addEventListener('click', () => handlers.open(title.closest('li').task));
  const meta = h('div', { class: 'task-meta' });
  const li = h('li', { class: 'task' }, check, h('div', { class: 'task-body' }, title, meta));
  updateRow(li, task, handlers);
  return li;
}

function updateRow(li, task, handlers) {
  li.task = task;
  li.dataset.id = task.id;
  const [check, body] = li.children;
  const [title, meta] = body.children;
  const done = task.status === 'done' || state.pending.get(task.id) === 'done';
  check.checked = done;
  check.setAttribute('aria-label', t('complete_label', { title: task.title }));
  check.className = `check p-${task.priority}`;
  li.classList.toggle('done', done);
  if (title.textContent !== task.title) title.textContent = task.title;
  const zone = handlers.zone();
  const items = [];
  if (task.due_at) {
    items.push(h('span', { class: `meta due${isOverdue(task, zone) ? ' overdue' : ''}` }, dueLabel(task, zone)));
  }
  // Rows carry text symbols rather than SVG icons: a list of 200 tasks stays a small DOM.
  if (task.recurrence) items.push(h('span', { class: 'meta' }, `↻ ${recurrenceLabel(task.recurrence)}`));
  if (task.reminders.length) {
    const reminders = task.reminders.map((spec) => reminderLabel(spec, zone)).join(', ');
    items.push(h('span', { class: 'meta' }, `${t('reminder')}: ${reminders}`));
  }
  if (task.description) items.push(h('span', { class: 'meta desc', dir: 'auto' }, task.description.split('\n')[0].slice(0, 80)));
  for (const tag of task.tags) {
    items.push(h('a', {
      class: 'meta tag', href: `/all?tag=${encodeURIComponent(tag)}`, dir: 'auto',
      on: { click: (event) => { event.preventDefault(); handlers.filterTag(tag); } },
    }, `#${tag}`));
  }
  if (task.priority !== 'none') items.push(h('span', { class: `meta prio p-${task.priority}` }, `⚑ ${t(`p_${task.priority}`)}`));
  replace(meta, items);
  meta.hidden = items.length === 0;
}

/** The quick-add box: the parser highlights what it recognised as the user types. */
function quickAdd(handlers) {
  const input = h('input', {
    id: 'quick-add', type: 'text', class: 'quick-input', autocomplete: 'off', dir: 'auto', maxlength: 2000,
    placeholder: t('add_task_placeholder'), 'aria-describedby': 'quick-add-hint', enterkeyhint: 'done',
  });
  const label = h('label', { for: 'quick-add', class: 'visually-hidden' }, t('add_task'));
  const highlight = h('p', { class: 'quick-highlight', dir: 'auto' });
  const chips = h('ul', { class: 'quick-chips' });
  const preview = h('div', { class: 'quick-preview', role: 'group', 'aria-label': t('preview'), hidden: true }, highlight, chips);
  const hint = h('p', { id: 'quick-add-hint', class: 'hint quick-hint' }, t('add_task_hint'));
  let sequence = 0;
  let parsed = null;

  const render = (text, result) => {
    parsed = result;
    if (!text.trim()) {
      preview.hidden = true;
      return;
    }
    preview.hidden = false;
    const characters = Array.from(text);
    const pieces = [];
    let at = 0;
    for (const span of [...result.spans].sort((a, b) => a.start - b.start)) {
      if (span.field === 'title' || span.start < at) continue;
      if (span.start > at) pieces.push(characters.slice(at, span.start).join(''));
      pieces.push(h('mark', { class: `f-${span.field}`, title: span.field }, characters.slice(span.start, span.end).join('')));
      at = span.end;
    }
    if (at < characters.length) pieces.push(characters.slice(at).join(''));
    replace(highlight, pieces);
    const zone = handlers.zone();
    const items = [];
    const task = { due_at: result.due_at, all_day: result.all_day, timezone: zone, status: 'todo' };
    if (result.title) items.push(h('li', { class: 'chip title-chip', dir: 'auto' }, result.title));
    if (result.due_at) items.push(h('li', { class: 'chip f-due_at' }, icon('today'), `${t('due')}: ${dueLabel(task, zone)}`));
    if (result.recurrence) items.push(h('li', { class: 'chip f-recurrence' }, icon('repeat'), recurrenceLabel(result.recurrence)));
    for (const spec of result.reminders) items.push(h('li', { class: 'chip f-reminders' }, icon('bell'), reminderLabel(spec, zone)));
    for (const tag of result.tags) items.push(h('li', { class: 'chip f-tags', dir: 'auto' }, `#${tag}`));
    if (result.priority && result.priority !== 'none') items.push(h('li', { class: `chip f-priority p-${result.priority}` }, icon('flag'), t(`p_${result.priority}`)));
    replace(chips, items);
  };

  const parse = debounce(async () => {
    const text = input.value;
    const mine = ++sequence;
    if (!text.trim()) {
      render(text, null);
      return;
    }
    try {
      const result = await api('POST', '/api/v1/parse', { text });
      if (mine === sequence) render(text, result);
    } catch {
      // The preview is a help; saving still works.
    }
  }, 120);

  input.addEventListener('input', parse);
  input.addEventListener('keydown', async (event) => {
    if (event.key === 'Escape') {
      input.value = '';
      render('', null);
      input.blur();
      return;
    }
    if (event.key !== 'Enter' || event.isComposing) return;
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    parse.cancel();
    input.disabled = true;
    try {
      const task = await api('POST', '/api/v1/tasks/quick', { text });
      input.value = '';
      render('', null);
      emit('tasks-changed');
      loadTags();
      undoable(t('added_toast', { title: task.title }), {
        undo: async () => {
          try {
            await api('DELETE', `/api/v1/tasks/${task.id}?scope=series`);
            emit('tasks-changed');
          } catch (error) { showError(error); }
        },
      });
    } catch (error) {
      showError(error);
    } finally {
      input.disabled = false;
      input.focus();
    }
  });
  return {
    element: h('div', { class: 'quick-add' },
      label,
      h('div', { class: 'quick-row' }, h('span', { class: 'quick-icon', 'aria-hidden': 'true' }, icon('plus')), input),
      preview, hint),
    input,
    parsed: () => parsed,
  };
}

/** The task list screen; returns its controller. */
export function renderTasks(main, { view, params, zone, navigate, openTask }) {
  const rows = new Map();
  let tasks = [];
  let nextCursor = null;
  let loading = null;
  let loads = 0; // reloads started; an answer to an earlier one is stale
  const handlers = {
    zone,
    open: openTask,
    filterTag: (tag) => navigate(`/all?tag=${encodeURIComponent(tag)}`),
  };

  const titles = { today: t('today'), upcoming: t('upcoming'), all: t('all'), completed: t('completed'), search: t('search') };
  const heading = h('h1', { id: 'view-title', tabindex: '-1' }, view === 'search' && params.q ? `${t('search')}: ${params.q}` : titles[view]);
  const count = h('span', { class: 'count', 'aria-live': 'polite' });
  const quick = view === 'completed' || view === 'search' ? null : quickAdd(handlers);
  const listHost = h('div', { class: 'list-host', 'aria-busy': 'true' });
  const more = h('button', { type: 'button', class: 'button ghost load-more', hidden: true, on: { click: () => load(true) } }, t('load_more'));

  const setParam = (key, value) => {
    const next = new URLSearchParams(location.search);
    if (value) next.set(key, value); else next.delete(key);
    const search = next.toString();
    navigate(`${location.pathname}${search ? `?${search}` : ''}`, { replace: true });
  };
  const tagSelect = h('select', { id: 'filter-tag', on: { change: () => setParam('tag', tagSelect.value) } });
  const fillTags = () => {
    replace(tagSelect,
      h('option', { value: '' }, t('any')),
      state.tags.map((tag) => h('option', { value: tag.name, selected: tag.name === params.tag }, `#${tag.name}`)),
      params.tag && !state.tags.some((tag) => tag.name === params.tag) ? h('option', { value: params.tag, selected: true }, `#${params.tag}`) : null);
  };
  fillTags();
  const priority = h('select', { id: 'filter-priority', on: { change: () => setParam('priority', priority.value) } },
    h('option', { value: '' }, t('any')),
    PRIORITIES.map((p) => h('option', { value: p, selected: p === params.priority }, t(`p_${p}`))));
  const sortOptions = {
    all: [['due_at,-priority', 'sort_due'], ['-priority,due_at', 'sort_priority'], ['-created_at', 'sort_created'], ['title', 'sort_title']],
    completed: [['-updated_at', 'sort_created'], ['title', 'sort_title'], ['-priority', 'sort_priority']],
    search: [['relevance', 'sort_relevance'], ['due_at', 'sort_due'], ['-priority', 'sort_priority'], ['-created_at', 'sort_created']],
  }[view];
  const sort = sortOptions ? h('select', { id: 'sort', on: { change: () => setParam('sort', sort.value) } },
    sortOptions.map(([value, key]) => h('option', { value, selected: value === (params.sort || sortOptions[0][0]) }, t(key)))) : null;
  const filters = h('div', { class: 'filters' },
    h('div', { class: 'filter' }, h('label', { for: 'filter-tag' }, icon('tag'), t('filter_tag')), tagSelect),
    h('div', { class: 'filter' }, h('label', { for: 'filter-priority' }, icon('flag'), t('filter_priority')), priority),
    sort ? h('div', { class: 'filter' }, h('label', { for: 'sort' }, icon('sort'), t('sort')), sort) : null,
    params.tag || params.priority ? h('button', { type: 'button', class: 'button ghost small', on: { click: () => navigate(location.pathname) } }, t('clear_filters')) : null);

  replace(main,
    h('div', { class: 'view' },
      h('header', { class: 'view-header' }, h('div', { class: 'view-title' }, heading, count), filters),
      quick ? quick.element : null,
      listHost,
      more));

  function render() {
    const visible = tasks.filter((task) => state.pending.get(task.id) !== 'deleted');
    const grouped = groups(view, visible, zone());
    listHost.removeAttribute('aria-busy');
    count.textContent = visible.length ? t('tasks_count', { count: visible.length }) : '';
    if (!grouped.length) {
      rows.clear();
      replace(listHost, h('div', { class: 'empty' }, h('div', { class: 'empty-art', 'aria-hidden': 'true' }, icon(view === 'completed' ? 'done' : 'sparkle')), h('p', {}, emptyText(view, params))));
      return;
    }
    const seen = new Set();
    const sections = grouped.map((group) => {
      const list = h('ul', { class: 'tasks', 'aria-labelledby': group.title ? `group-${group.key}` : 'view-title' });
      for (const task of group.tasks) {
        let row = rows.get(task.id);
        if (row) updateRow(row, task, handlers);
        else {
          row = createRow(task, handlers);
          rows.set(task.id, row);
        }
        seen.add(task.id);
        list.appendChild(row);
      }
      return h('section', { class: `group ${group.tone || ''}` },
        group.title ? h('h2', { id: `group-${group.key}`, class: 'group-title' }, group.title, h('span', { class: 'count' }, String(group.tasks.length))) : null,
        list);
    });
    for (const id of [...rows.keys()]) if (!seen.has(id)) rows.delete(id);
    // Moving the focused row between lists would lose focus: remember and restore it.
    const active = document.activeElement;
    replace(listHost, sections);
    if (active && active !== document.activeElement && listHost.contains(active)) active.focus();
  }

  async function load(append = false) {
    if (view === 'search' && !params.q) {
      tasks = [];
      render();
      return;
    }
    const request = viewQuery(view, params, zone());
    if (append && nextCursor) request.cursor = nextCursor;
    const generation = append ? loads : ++loads;
    const run = (async () => {
      try {
        const page = await api('GET', `/api/v1/tasks${query(request)}`);
        // Answers can arrive out of order: one to a list asked for before a newer one is
        // dropped, and a task this page shows at an older version than the screen already
        // has (an answer to an action, a live event) keeps the newer one.
        if (generation !== loads) return;
        const known = new Map(tasks.map((task) => [task.id, task]));
        const items = page.items.map((item) => {
          const mine = known.get(item.id);
          return mine && mine.version > item.version ? mine : item;
        });
        tasks = append ? tasks.concat(items) : items;
        nextCursor = page.next_cursor;
        more.hidden = !nextCursor;
        render();
      } catch (error) {
        showError(error);
      }
    })();
    loading = run;
    await run;
    if (loading === run) loading = null;
  }

  const reload = debounce(() => load(false), 60);
  const unsubscribe = [
    on('tasks-changed', (detail) => { if (detail && detail.local) render(); else reload(); }),
    on('task', (task) => {
      const index = tasks.findIndex((item) => item.id === task.id);
      if (index >= 0 && !(tasks[index].version > task.version)) {
        tasks[index] = task;
        render();
      }
    }),
    on('tags', fillTags),
  ];
  load();

  return {
    destroy: () => unsubscribe.forEach((off) => off()),
    focusQuickAdd: () => { if (quick) quick.input.focus(); },
    refresh: () => load(false),
    /** Moves the keyboard focus `delta` rows down (negative: up). */
    move(delta) {
      const buttons = [...listHost.querySelectorAll('.task-title')];
      if (!buttons.length) return;
      const current = buttons.indexOf(document.activeElement?.closest('li')?.querySelector('.task-title'));
      const next = current < 0 ? (delta > 0 ? 0 : buttons.length - 1) : Math.max(0, Math.min(buttons.length - 1, current + delta));
      buttons[next].focus();
      buttons[next].scrollIntoView({ block: 'nearest' });
    },
    /** The task of the focused row. */
    focusedTask() {
      const li = document.activeElement?.closest('li.task');
      return li && listHost.contains(li) ? li.task : null;
    },
    announceCount: () => announce(count.textContent),
  };
}

// The task panel: every field of a task (title, description, due date and time or all day,
// time zone, recurrence with presets or a custom rule and its next occurrences, reminders,
// tags with autocomplete by usage, priority), complete/reopen/delete, and the task's history
// from the audit trail. Saves with a JSON merge patch guarded by If-Match. The next occurrences
// follow the form as it is edited (POST /api/v1/recurrence/preview, debounced), so a preset or
// a custom rule shows its dates, or why it cannot be saved, before Save.

import { ApiError, api, query } from './api.js';
import { allZones, dateKey, formatDateTime, reminderLabel, timeKey, zonedToInstant } from './dates.js';
import { debounce, h, icon, replace } from './dom.js';
import { t } from './i18n.js';
import { PRESETS, presetOf } from './recurrence.js';
import { completeTask, deleteTask, emit, loadTags, on, reopenTask, showError } from './store.js';
import { toast } from './toast.js';

const REMINDER_PRESETS = [
  ['PT0S', 'at_due_time'], ['-PT5M', 'before_5m'], ['-PT15M', 'before_15m'],
  ['-PT30M', 'before_30m'], ['-PT1H', 'before_1h'], ['-P1D', 'before_1d'],
];
const PRIORITIES = ['none', 'low', 'medium', 'high', 'urgent'];
/** How many occurrences the panel shows, and how long typing pauses before they are fetched. */
const PREVIEW_COUNT = 5;
const PREVIEW_DELAY_MS = 250;

let dialog = null;
let current = null;

function field(id, label, control, hint) {
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    control,
    hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null);
}

/** Opens the panel for a task (a task object or an id). */
export async function openTaskPanel(taskOrId, { zone }) {
  let task = taskOrId;
  if (typeof taskOrId === 'string') {
    try {
      task = await api('GET', `/api/v1/tasks/${taskOrId}`);
    } catch (error) {
      showError(error);
      return;
    }
  }
  if (!dialog) {
    dialog = h('dialog', { class: 'panel', 'aria-labelledby': 'panel-title' });
    document.body.appendChild(dialog);
    dialog.addEventListener('close', () => {
      if (current) current.destroy();
      current = null;
      emit('panel-closed');
    });
    dialog.addEventListener('click', (event) => { if (event.target === dialog) dialog.close(); });
  }
  if (current) current.destroy();
  current = buildPanel(task, zone);
  if (!dialog.open) dialog.showModal();
  current.focus();
}

/** Whether the panel is open. */
export function panelOpen() {
  return Boolean(dialog && dialog.open);
}

function buildPanel(initial, zone) {
  let task = initial;
  let dirty = false;
  const markDirty = () => { dirty = true; };

  const title = h('input', { id: 'p-title', type: 'text', required: true, maxlength: 500, dir: 'auto' });
  const description = h('textarea', { id: 'p-description', rows: 3, dir: 'auto', placeholder: t('description_placeholder') });
  const dueDate = h('input', { id: 'p-due-date', type: 'date' });
  const dueTime = h('input', { id: 'p-due-time', type: 'time' });
  const allDay = h('input', { id: 'p-all-day', type: 'checkbox' });
  const timezone = h('select', { id: 'p-timezone' });
  const zones = allZones();
  const presetSelect = h('select', { id: 'p-repeat' },
    PRESETS.map((preset) => h('option', { value: preset.key }, t(`r_${preset.key}`))),
    h('option', { value: 'custom' }, t('r_custom')));
  const rrule = h('input', { id: 'p-rrule', type: 'text', dir: 'ltr', spellcheck: 'false', autocomplete: 'off', 'aria-describedby': 'p-rrule-hint p-recurrence-error' });
  const mode = h('select', { id: 'p-mode' },
    h('option', { value: 'from_due' }, t('mode_from_due')),
    h('option', { value: 'from_completion' }, t('mode_from_completion')));
  const occurrences = h('ol', { class: 'occurrences' });
  const occurrencesBox = h('div', { class: 'occurrences-box', hidden: true }, h('h3', { id: 'p-occ-title' }, t('next_occurrences')), occurrences);
  occurrences.setAttribute('aria-labelledby', 'p-occ-title');
  // Why the rule as edited cannot be saved; read out politely as it changes.
  const recurrenceError = h('p', { class: 'form-error', id: 'p-recurrence-error', 'aria-live': 'polite' });
  const reminderList = h('ul', { class: 'chip-list', 'aria-label': t('reminders') });
  const reminderAdd = h('select', { id: 'p-reminder-add' },
    h('option', { value: '' }, `${t('add_reminder')}…`),
    REMINDER_PRESETS.map(([value, key]) => h('option', { value }, t(key))),
    h('option', { value: 'instant' }, t('at_instant')));
  const reminderInstant = h('input', { id: 'p-reminder-at', type: 'datetime-local', hidden: true, 'aria-label': t('reminder_at') });
  const tagList = h('ul', { class: 'chip-list', 'aria-label': t('tags') });
  const tagOptions = h('datalist', { id: 'p-tag-options' });
  const tagInput = h('input', { id: 'p-tag-input', type: 'text', list: 'p-tag-options', autocomplete: 'off', dir: 'auto', placeholder: t('tag_placeholder') });
  const priority = h('select', { id: 'p-priority' }, PRIORITIES.map((p) => h('option', { value: p }, t(`p_${p}`))));
  const note = h('p', { class: 'notice', role: 'status', hidden: true });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const saveButton = h('button', { type: 'submit', class: 'button primary' }, t('save'));
  const statusButton = h('button', { type: 'button', class: 'button' });
  const deleteButton = h('button', { type: 'button', class: 'button danger' }, icon('trash'), t('delete'));
  const deleteSeriesButton = h('button', { type: 'button', class: 'button ghost danger' }, t('delete_series'));
  const historyList = h('ol', { class: 'history' });
  const history = h('details', { class: 'history-box' }, h('summary', {}, icon('history'), t('history')), historyList);
  let reminders = [];
  let tags = [];

  const renderReminders = () => {
    replace(reminderList, reminders.map((spec, index) => h('li', { class: 'chip' },
      icon('bell'), h('span', {}, reminderLabel(spec, timezone.value || zone())),
      h('button', {
        type: 'button', class: 'chip-remove', 'aria-label': t('remove_reminder', { what: reminderLabel(spec, timezone.value || zone()) }),
        on: { click: () => { reminders.splice(index, 1); markDirty(); renderReminders(); reminderAdd.focus(); } },
      }, icon('close')))));
  };
  const renderTags = () => {
    replace(tagList, tags.map((tag, index) => h('li', { class: 'chip f-tags', dir: 'auto' },
      `#${tag}`,
      h('button', {
        type: 'button', class: 'chip-remove', 'aria-label': t('remove_tag', { tag }),
        on: { click: () => { tags.splice(index, 1); markDirty(); renderTags(); tagInput.focus(); } },
      }, icon('close')))));
  };
  const syncRepeat = () => {
    const custom = presetSelect.value === 'custom';
    rrule.closest('.field').hidden = !custom;
    mode.closest('.field').hidden = presetSelect.value === 'none';
    dueTime.disabled = allDay.checked;
  };

  const fill = (value) => {
    task = value;
    dirty = false;
    title.value = task.title;
    description.value = task.description;
    const taskZone = task.timezone;
    replace(timezone, (zones.includes(taskZone) ? zones : [taskZone, ...zones]).map((name) => h('option', { value: name, selected: name === taskZone }, name)));
    if (task.due_at) {
      const due = new Date(task.due_at);
      dueDate.value = dateKey(due, taskZone);
      dueTime.value = task.all_day ? '' : timeKey(due, taskZone);
    } else {
      dueDate.value = '';
      dueTime.value = '';
    }
    allDay.checked = task.all_day;
    presetSelect.value = presetOf(task.recurrence);
    rrule.value = task.recurrence || '';
    mode.value = task.recurrence_mode || 'from_due';
    reminders = [...task.reminders];
    tags = [...task.tags];
    priority.value = task.priority;
    renderReminders();
    renderTags();
    syncRepeat();
    replace(statusButton, icon(task.status === 'done' ? 'history' : 'done'), task.status === 'done' ? t('reopen') : t('complete'));
    deleteSeriesButton.hidden = !task.recurrence;
    schedulePreview.cancel();
    previewOccurrences();
    if (history.open) loadHistory();
  };

  // The occurrences of the rule and due date as they stand in the form; a newer edit
  // supersedes a preview still on its way.
  let previewing = null;
  const showPreview = (instants, message) => {
    const shownZone = allDay.checked ? timezone.value : zone();
    replace(occurrences, (instants || []).map((at) => h('li', {}, h('time', { datetime: at }, formatDateTime(new Date(at), shownZone)))));
    occurrencesBox.hidden = !instants || !instants.length;
    recurrenceError.textContent = message || '';
    if (message) rrule.setAttribute('aria-invalid', 'true');
    else rrule.removeAttribute('aria-invalid');
  };
  const previewOccurrences = async () => {
    if (previewing) previewing.abort();
    previewing = null;
    const rule = presetSelect.value === 'none' ? '' : rrule.value.trim().replace(/^RRULE:/i, '');
    if (!rule) {
      showPreview(null, '');
      return;
    }
    const controller = new AbortController();
    previewing = controller;
    const body = { recurrence: rule, timezone: timezone.value, limit: PREVIEW_COUNT, ...dueFields() };
    if (body.due_at === null) delete body.due_at;
    try {
      const answer = await api('POST', '/api/v1/recurrence/preview', body, { signal: controller.signal });
      if (previewing === controller) showPreview(answer.occurrences, '');
    } catch (failure) {
      if (previewing !== controller || failure.name === 'AbortError') return;
      const messages = failure instanceof ApiError && failure.status === 422 && failure.errors.length
        ? failure.errors.map((item) => (item.code === 'requires_due_at'
          ? t('needs_due')
          : t('rule_invalid', { detail: item.message.replace(/^invalid recurrence rule: /, '').replace(/\.$/, '') })))
        : [failure.status === 0 ? t('error_network') : failure.message];
      showPreview(null, [...new Set(messages)].join(' '));
    } finally {
      if (previewing === controller) previewing = null;
    }
  };
  const schedulePreview = debounce(previewOccurrences, PREVIEW_DELAY_MS);

  const loadHistory = async () => {
    try {
      const body = await api('GET', `/api/v1/tasks/${task.id}/history?limit=100`);
      const entries = (body.items || []).slice().reverse();
      replace(historyList, entries.length ? entries.map((entry) => {
        const kind = (entry.type || entry.event_type || '').replace('tickler.task.', '');
        const fields = (entry.data && entry.data.changed_fields) || [];
        const what = kind === 'updated' ? t('h_updated', { fields: fields.join(', ') }) : t(`h_${kind}`);
        return h('li', {},
          h('span', { class: 'history-what' }, what),
          h('span', { class: 'history-when' },
            h('time', { datetime: entry.occurred_at }, formatDateTime(new Date(entry.occurred_at), zone())),
            entry.origin ? ` · ${t('via', { origin: t(`origin_${entry.origin}`) })}` : ''));
      }) : h('li', { class: 'hint' }, t('no_history')));
    } catch (failure) {
      replace(historyList, h('li', { class: 'form-error' }, failure.message));
    }
  };
  history.addEventListener('toggle', () => { if (history.open) loadHistory(); });

  const suggestTags = debounce(async () => {
    try {
      const body = await api('GET', `/api/v1/tags${query({ prefix: tagInput.value.trim().replace(/^#/, '').toLowerCase(), limit: 10 })}`);
      replace(tagOptions, (body.items || body || []).filter((tag) => !tags.includes(tag.name)).map((tag) => h('option', { value: tag.name })));
    } catch {
      // Suggestions are optional.
    }
  }, 120);
  const addTag = () => {
    const value = tagInput.value.trim().replace(/^#/, '').toLowerCase();
    if (value && !tags.includes(value)) {
      tags.push(value);
      markDirty();
      renderTags();
    }
    tagInput.value = '';
    suggestTags();
  };
  tagInput.addEventListener('input', () => {
    // Picking a suggestion from the list fills the input completely: take it at once.
    if ([...tagOptions.options].some((option) => option.value === tagInput.value)) addTag();
    else suggestTags();
  });
  tagInput.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ',') {
      event.preventDefault();
      addTag();
    } else if (event.key === 'Backspace' && !tagInput.value && tags.length) {
      tags.pop();
      markDirty();
      renderTags();
    }
  });
  tagInput.addEventListener('focus', suggestTags);

  reminderAdd.addEventListener('change', () => {
    if (reminderAdd.value === 'instant') {
      reminderInstant.hidden = false;
      reminderInstant.focus();
    } else if (reminderAdd.value) {
      if (!reminders.includes(reminderAdd.value)) reminders.push(reminderAdd.value);
      markDirty();
      renderReminders();
      reminderAdd.value = '';
    }
  });
  reminderInstant.addEventListener('change', () => {
    const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(reminderInstant.value);
    if (!match) return;
    const [, y, mo, d, hh, mm] = match.map(Number);
    const at = zonedToInstant(y, mo, d, hh, mm, timezone.value).toISOString().replace('.000Z', 'Z');
    if (!reminders.includes(at)) reminders.push(at);
    reminderInstant.value = '';
    reminderInstant.hidden = true;
    reminderAdd.value = '';
    markDirty();
    renderReminders();
  });
  presetSelect.addEventListener('change', () => {
    const preset = PRESETS.find((item) => item.key === presetSelect.value);
    if (preset) rrule.value = preset.rule;
    syncRepeat();
    markDirty();
    if (presetSelect.value === 'custom') rrule.focus();
    schedulePreview();
  });
  allDay.addEventListener('change', () => { syncRepeat(); schedulePreview(); });
  for (const control of [rrule, dueDate, dueTime, timezone]) {
    control.addEventListener('input', schedulePreview);
    control.addEventListener('change', schedulePreview);
  }

  // The due date as the form has it: a date (all day), an instant, or none.
  function dueFields() {
    if (!dueDate.value) return { due_at: null, all_day: false };
    if (allDay.checked || !dueTime.value) return { due_at: dueDate.value, all_day: true };
    const [y, mo, d] = dueDate.value.split('-').map(Number);
    const [hh, mm] = dueTime.value.split(':').map(Number);
    return { due_at: zonedToInstant(y, mo, d, hh, mm, timezone.value).toISOString().replace('.000Z', 'Z'), all_day: false };
  }

  const patch = () => {
    const body = {
      title: title.value.trim(),
      description: description.value,
      timezone: timezone.value,
      priority: priority.value,
      tags,
      reminders,
      ...dueFields(),
    };
    const rule = presetSelect.value === 'none' ? null : rrule.value.trim().replace(/^RRULE:/i, '');
    body.recurrence = rule || null;
    body.recurrence_mode = mode.value;
    return body;
  };

  const form = h('form', { class: 'panel-form', novalidate: true },
    field('p-title', t('title'), title),
    field('p-description', t('description'), description),
    h('fieldset', { class: 'group-fields' },
      h('legend', {}, icon('today'), t('due')),
      h('div', { class: 'row' },
        field('p-due-date', t('due_date'), dueDate),
        field('p-due-time', t('due_time'), dueTime),
        h('div', { class: 'field check-field' }, allDay, h('label', { for: 'p-all-day' }, t('all_day')))),
      field('p-timezone', t('timezone'), timezone)),
    h('fieldset', { class: 'group-fields' },
      h('legend', {}, icon('repeat'), t('recurrence')),
      field('p-repeat', t('recurrence'), presetSelect),
      field('p-rrule', t('rrule'), rrule, t('rrule_hint')),
      field('p-mode', t('recurrence_mode'), mode),
      recurrenceError,
      occurrencesBox),
    h('fieldset', { class: 'group-fields' },
      h('legend', {}, icon('bell'), t('reminders')),
      reminderList,
      h('div', { class: 'row' }, h('label', { for: 'p-reminder-add', class: 'visually-hidden' }, t('add_reminder')), reminderAdd, reminderInstant)),
    h('fieldset', { class: 'group-fields' },
      h('legend', {}, icon('tag'), t('tags')),
      tagList,
      field('p-tag-input', t('tag_input'), tagInput),
      tagOptions),
    field('p-priority', t('priority'), priority),
    note,
    error,
    h('div', { class: 'panel-actions' }, saveButton, statusButton, h('span', { class: 'spacer' }), deleteButton, deleteSeriesButton),
    history);
  form.addEventListener('input', markDirty);
  form.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    if (!title.value.trim()) {
      error.textContent = `${t('title')}: ${t('required')}`;
      title.focus();
      return;
    }
    saveButton.disabled = true;
    saveButton.textContent = t('saving');
    try {
      const saved = await api('PATCH', `/api/v1/tasks/${task.id}`, patch(), { headers: { 'if-match': `"${task.version}"` } });
      fill(saved);
      emit('task', saved);
      emit('tasks-changed');
      loadTags();
      toast(t('saved_toast'), { duration: 2500 });
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 412) {
        fill(await api('GET', `/api/v1/tasks/${task.id}`));
        note.hidden = false;
        note.textContent = t('changed_elsewhere');
      } else {
        const fields = failure.errors.map((item) => `${item.field}: ${item.message}`).join('; ');
        error.textContent = fields || failure.message;
      }
    } finally {
      saveButton.disabled = false;
      saveButton.textContent = t('save');
    }
  });
  statusButton.addEventListener('click', async () => {
    if (task.status === 'done') await reopenTask(task);
    else await completeTask(task);
    dialog.close();
  });
  deleteButton.addEventListener('click', () => { deleteTask(task, 'this'); dialog.close(); });
  deleteSeriesButton.addEventListener('click', () => { deleteTask(task, 'series'); dialog.close(); });

  replace(dialog,
    h('div', { class: 'panel-inner' },
      h('header', { class: 'panel-header' },
        h('h2', { id: 'panel-title' }, t('task_details')),
        h('button', { type: 'button', class: 'icon-button', 'aria-label': t('close'), on: { click: () => dialog.close() } }, icon('close'))),
      form));
  fill(task);

  // A change made elsewhere shows at once unless the reader is editing.
  const offTask = on('task', (changed) => {
    if (changed.id === task.id && changed.version > task.version && !dirty) fill(changed);
  });
  const offLive = on('live-task', async (id) => {
    if (id !== task.id) return;
    try {
      const fresh = await api('GET', `/api/v1/tasks/${task.id}`);
      if (fresh.version > task.version) {
        if (dirty) {
          note.hidden = false;
          note.textContent = t('changed_elsewhere');
        } else fill(fresh);
      }
    } catch (failure) {
      if (failure.status === 404) dialog.close();
    }
  });
  return {
    focus: () => title.focus(),
    destroy: () => {
      offTask();
      offLive();
      schedulePreview.cancel();
      if (previewing) previewing.abort();
    },
  };
}

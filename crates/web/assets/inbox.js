// Notifications: the bell with the unread count, the inbox popover, and the toast that
// appears when a reminder fires while the app is open (from the live stream).

import { api } from './api.js';
import { formatDateTime, relative } from './dates.js';
import { h, icon, replace } from './dom.js';
import { t } from './i18n.js';
import { emit, showError, state } from './store.js';
import { toast } from './toast.js';

let button = null;
let badge = null;
let popover = null;
let list = null;
let zoneOf = () => 'UTC';
let openTask = () => {};

/** The bell button for the header; its accessible name starts with "Notifications". */
export function inboxButton({ zone, onOpenTask }) {
  zoneOf = zone;
  openTask = onOpenTask;
  badge = h('span', { class: 'badge', 'aria-hidden': 'true', hidden: true });
  button = h('button', {
    type: 'button', class: 'icon-button bell', 'aria-haspopup': 'dialog', 'aria-expanded': 'false',
    'aria-controls': 'inbox', 'aria-label': t('notifications'),
    on: { click: () => (popover.open ? closeInbox() : openInbox()) },
  }, icon('bell'), badge);
  list = h('ul', { class: 'inbox-list' });
  popover = h('dialog', { id: 'inbox', class: 'inbox', 'aria-labelledby': 'inbox-title' },
    h('div', { class: 'inbox-header' },
      h('h2', { id: 'inbox-title' }, t('inbox')),
      h('button', { type: 'button', class: 'button ghost small', on: { click: markAllRead } }, t('mark_all_read')),
      h('button', { type: 'button', class: 'icon-button', 'aria-label': t('close'), on: { click: closeInbox } }, icon('close'))),
    list);
  popover.addEventListener('keydown', (event) => { if (event.key === 'Escape') { event.preventDefault(); closeInbox(); } });
  document.addEventListener('click', (event) => {
    if (popover.open && !popover.contains(event.target) && !button.contains(event.target)) closeInbox();
  });
  return h('div', { class: 'bell-wrap' }, button, popover);
}

function setUnread(count) {
  state.unread = count;
  if (!button) return;
  button.setAttribute('aria-label', count ? t('notifications_unread', { count }) : t('notifications'));
  badge.hidden = count === 0;
  badge.textContent = count > 99 ? '99+' : String(count);
  emit('unread', count);
}

/** Reads the unread count. */
export async function refreshUnread() {
  try {
    const page = await api('GET', '/api/v1/notifications?unread=true&limit=100');
    setUnread(page.items.length);
    return page.items;
  } catch {
    return [];
  }
}

async function openInbox() {
  popover.show();
  button.setAttribute('aria-expanded', 'true');
  replace(list, h('li', { class: 'hint' }, t('loading')));
  try {
    const page = await api('GET', '/api/v1/notifications?limit=30');
    replace(list, page.items.length ? page.items.map(item) : h('li', { class: 'empty small' }, icon('bell'), h('p', {}, t('inbox_empty'))));
  } catch (error) {
    showError(error);
  }
  const first = popover.querySelector('button');
  if (first) first.focus();
}

function closeInbox() {
  if (!popover.open) return;
  popover.close();
  button.setAttribute('aria-expanded', 'false');
  button.focus();
}

function item(notification) {
  const read = h('button', {
    type: 'button', class: 'button ghost small', hidden: Boolean(notification.read_at),
    on: {
      click: async (event) => {
        event.currentTarget.hidden = true;
        row.classList.remove('unread');
        await markRead(notification.id);
      },
    },
  }, t('mark_read'));
  const row = h('li', { class: `inbox-item${notification.read_at ? '' : ' unread'}` },
    h('button', {
      type: 'button', class: 'inbox-open', dir: 'auto',
      on: { click: () => { closeInbox(); openTask(notification.task_id); if (!notification.read_at) markRead(notification.id); } },
    },
    h('span', { class: 'inbox-title' }, notification.title),
    h('span', { class: 'inbox-body' }, notification.body),
    h('time', { datetime: notification.created_at }, `${relative(new Date(notification.created_at))} · ${formatDateTime(new Date(notification.fire_at), zoneOf())}`)),
    read);
  return row;
}

async function markRead(id) {
  try {
    await api('POST', `/api/v1/notifications/${id}/read`);
  } catch (error) {
    showError(error);
  }
  refreshUnread();
}

async function markAllRead() {
  const unread = await refreshUnread();
  await Promise.all(unread.map((notification) => api('POST', `/api/v1/notifications/${notification.id}/read`).catch(() => null)));
  await refreshUnread();
  if (popover.open) openInbox();
}

/** Handles a `tickler.notification.delivered` event from the live stream. */
export async function notificationDelivered(event) {
  const data = event.data || {};
  if (data.channel_kind && data.channel_kind !== 'in_app') return;
  const unread = await refreshUnread();
  const notification = unread.find((candidate) => candidate.id === data.notification_id);
  const title = notification ? notification.title : '';
  toast(t('reminder_toast', { title }), {
    duration: 0,
    tone: 'reminder',
    actions: [
      { label: t('open'), run: () => { openTask(data.task_id); markRead(data.notification_id); } },
      {
        label: t('snooze_10'),
        run: async () => {
          try {
            await api('POST', `/api/v1/reminders/${data.reminder_id}/snooze`, { minutes: 10 });
            toast(t('snoozed'), { duration: 2500 });
            markRead(data.notification_id);
          } catch (error) { showError(error); }
        },
      },
    ],
  });
}

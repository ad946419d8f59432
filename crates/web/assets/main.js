// The app: boots the session, lays out the shell (header, navigation, main area), routes
// between screens with the History API, connects the live stream and handles the keyboard.

import { api, endSession, hasSession, keepSessionFresh, onSignedOut, refreshSession } from './api.js';
import { renderAuth } from './auth.js';
import { renderChat } from './chat.js';
import { startOfDay } from './dates.js';
import { h, icon, replace, announce, debounce } from './dom.js';
import { applyDocumentLanguage, lang, setLang, t } from './i18n.js';
import { inboxButton, notificationDelivered, refreshUnread } from './inbox.js';
import { LiveStream } from './live.js';
import { openTaskPanel, panelOpen } from './panel.js';
import { renderSettings } from './settings.js';
import { completeTask, deleteTask, emit, loadTags, on, reopenTask, state } from './store.js';
import { renderTasks } from './tasks.js';

const root = document.getElementById('app');
const VIEWS = ['today', 'upcoming', 'all', 'completed'];
let screen = null;
let live = null;
let shell = null;
let liveDot = null;

const zone = () => (state.user && state.user.timezone) || 'UTC';

/** Moves to `path` without reloading. */
function navigate(path, { replace: replaceState = false, quiet = false } = {}) {
  if (replaceState) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  if (!quiet) route();
}

window.addEventListener('popstate', () => route());

function signedOut(notice) {
  if (live) live.stop();
  live = null;
  shell = null;
  state.user = null;
  history.replaceState(null, '', '/signin');
  renderAuth(root, 'signin', { onSignedIn, navigate, notice });
}

function onSignedIn(user) {
  state.user = user;
  history.replaceState(null, '', location.pathname === '/signin' || location.pathname === '/signup' ? '/today' : location.pathname + location.search);
  start();
}

onSignedOut(() => signedOut(t('signed_out')));

/** The header, navigation and main area. */
function buildShell() {
  const main = h('main', { id: 'main', class: 'main', tabindex: '-1' });
  const nav = h('nav', { class: 'sidebar', id: 'sidebar', 'aria-label': t('nav_label') });
  const menuButton = h('button', {
    type: 'button', class: 'icon-button menu-button', 'aria-label': t('menu'), 'aria-expanded': 'false', 'aria-controls': 'sidebar',
    on: { click: () => toggleMenu() },
  }, icon('menu'));
  const toggleMenu = (open = !document.body.classList.contains('nav-open')) => {
    document.body.classList.toggle('nav-open', open);
    menuButton.setAttribute('aria-expanded', String(open));
    if (open) nav.querySelector('a')?.focus();
  };
  const search = h('input', {
    id: 'search', type: 'search', class: 'search-input', placeholder: t('search_placeholder'), autocomplete: 'off', dir: 'auto',
    value: new URLSearchParams(location.search).get('q') || '',
  });
  const runSearch = debounce(() => {
    const q = search.value.trim();
    if (q) navigate(`/search?q=${encodeURIComponent(q)}`, { replace: location.pathname === '/search' });
    else if (location.pathname === '/search') navigate('/today');
  }, 250);
  search.addEventListener('input', runSearch);
  search.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') { search.value = ''; runSearch(); search.blur(); }
    if (event.key === 'Enter') { runSearch(); runSearch.cancel(); const q = search.value.trim(); if (q) navigate(`/search?q=${encodeURIComponent(q)}`, { replace: true }); }
  });
  liveDot = h('span', { class: 'live-dot', role: 'status', title: t('live_off') }, h('span', { class: 'visually-hidden' }, t('live_off')));
  const languageButton = h('button', {
    type: 'button', class: 'button ghost small lang-button', lang: lang() === 'ur' ? 'en' : 'ur', title: t('switch_language_label'),
    on: { click: () => { setLang(lang() === 'ur' ? 'en' : 'ur'); shell = null; start(); } },
  }, icon('globe'), h('span', {}, t('switch_language')));
  const header = h('header', { class: 'topbar' },
    menuButton,
    h('a', { class: 'brand', href: '/today', 'aria-label': 'tickler', on: { click: (event) => { event.preventDefault(); navigate('/today'); } } },
      h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, icon('done')), h('span', { class: 'brand-name' }, 'tickler')),
    h('div', { class: 'search', role: 'search' },
      h('label', { for: 'search', class: 'visually-hidden' }, t('search_tasks')), icon('search', 'search-icon'), search),
    h('div', { class: 'top-actions' },
      liveDot,
      languageButton,
      inboxButton({ zone, onOpenTask: (id) => openTaskPanel(id, { zone }) })));
  const links = [
    ['today', 'today'], ['upcoming', 'upcoming'], ['all', 'all'], ['completed', 'done'],
  ];
  const tagList = h('ul', { class: 'nav-tags' });
  const renderTagsNav = () => replace(tagList, state.tags.slice(0, 12).map((tag) => h('li', {},
    h('a', { href: `/all?tag=${encodeURIComponent(tag.name)}`, dir: 'auto', dataset: { tag: tag.name }, on: { click: (event) => { event.preventDefault(); toggleMenu(false); navigate(`/all?tag=${encodeURIComponent(tag.name)}`); } } },
      h('span', { class: 'hash', 'aria-hidden': 'true' }, '#'), tag.name, h('span', { class: 'count' }, String(tag.count)))))) ;
  on('tags', renderTagsNav);
  const link = (path, label, iconName, extra) => h('li', {},
    h('a', { href: path, dataset: { path }, on: { click: (event) => { event.preventDefault(); toggleMenu(false); navigate(path); } } },
      icon(iconName), h('span', { class: 'nav-label' }, label), extra || null));
  const todayCount = h('span', { class: 'count', id: 'today-count' });
  replace(nav,
    h('ul', { class: 'nav-list' },
      links.map(([view, iconName]) => link(`/${view}`, t(view), iconName, view === 'today' ? todayCount : null))),
    h('ul', { class: 'nav-list' },
      link('/chat', t('chat'), 'chat'),
      link('/settings', t('settings'), 'settings')),
    h('h2', { class: 'nav-heading', id: 'nav-tags' }, t('tags')),
    tagList,
    h('div', { class: 'nav-footer' },
      h('span', { class: 'nav-user', dir: 'ltr' }, state.user.email),
      h('button', {
        type: 'button', class: 'button ghost small',
        on: { click: async () => { try { await endSession(false); } finally { signedOut(); } } },
      }, icon('logout'), t('sign_out'))));
  tagList.setAttribute('aria-labelledby', 'nav-tags');
  renderTagsNav();
  const scrim = h('div', { class: 'scrim', on: { click: () => toggleMenu(false) } });
  replace(root,
    h('a', { class: 'skip-link', href: '#main' }, t('skip_to_content')),
    h('div', { class: 'shell' }, header, nav, scrim, main),
    h('div', { id: 'toasts', class: 'toasts' }),
    h('div', { id: 'announcer', class: 'visually-hidden', 'aria-live': 'polite' }));
  root.classList.remove('app-loading');
  root.removeAttribute('aria-busy');
  return { main, nav, search, todayCount, toggleMenu };
}

const refreshTodayCount = debounce(async () => {
  if (!shell) return;
  try {
    const end = startOfDay(zone(), 1).toISOString();
    const page = await api('GET', `/api/v1/tasks?status=open&due_before=${encodeURIComponent(end)}&limit=200`);
    shell.todayCount.textContent = page.items.length ? String(page.items.length) : '';
  } catch {
    // The count is decoration.
  }
}, 300);

/** Shows the screen of the current path. */
function route() {
  if (!state.user) {
    renderAuth(root, location.pathname === '/signup' ? 'signup' : 'signin', { onSignedIn, navigate });
    return;
  }
  if (!shell) shell = buildShell();
  const path = location.pathname;
  const params = Object.fromEntries(new URLSearchParams(location.search));
  if (screen && screen.destroy) screen.destroy();
  screen = null;
  for (const anchor of shell.nav.querySelectorAll('a[data-path]')) {
    if (anchor.dataset.path === path) anchor.setAttribute('aria-current', 'page');
    else anchor.removeAttribute('aria-current');
  }
  for (const anchor of shell.nav.querySelectorAll('a[data-tag]')) {
    if (path === '/all' && anchor.dataset.tag === params.tag) anchor.setAttribute('aria-current', 'page');
    else anchor.removeAttribute('aria-current');
  }
  const taskMatch = /^\/tasks\/([0-9a-f-]{36})$/.exec(path);
  let view = path.slice(1) || 'today';
  if (taskMatch) view = 'all';
  if (path === '/' || path === '/signin' || path === '/signup') {
    history.replaceState(null, '', '/today');
    view = 'today';
  }
  if (view !== 'search') shell.search.value = '';
  if (VIEWS.includes(view) || view === 'search') {
    screen = renderTasks(shell.main, { view, params, zone, navigate, openTask: (task) => openTaskPanel(task, { zone }) });
  } else if (view === 'chat') {
    screen = renderChat(shell.main, { zone, conversationId: params.c, navigate });
  } else if (view === 'settings') {
    screen = renderSettings(shell.main, { onSignedOut: () => signedOut(), rerender: () => { shell = null; start(); } });
  } else {
    navigate('/today', { replace: true });
    return;
  }
  document.title = `${document.getElementById('view-title')?.textContent || ''} · tickler`;
  if (taskMatch) openTaskPanel(taskMatch[1], { zone });
  refreshTodayCount();
}

/** Starts the signed-in app: shell, data, live stream. */
function start() {
  applyDocumentLanguage();
  keepSessionFresh();
  shell = null;
  route();
  loadTags();
  refreshUnread();
  if (!live) {
    live = new LiveStream({
      onEvent: (event) => {
        if (event.type && event.type.startsWith('tickler.task.')) {
          emit('tasks-changed');
          emit('live-task', (event.data && event.data.task_id) || event.subject);
          refreshTodayCount();
          if (event.type === 'tickler.task.created' || event.type === 'tickler.task.deleted') loadTags();
        } else if (event.type === 'tickler.notification.delivered') {
          notificationDelivered(event);
        }
      },
      onReset: () => {
        emit('tasks-changed');
        refreshUnread();
      },
      onStatus: (connected) => {
        state.live = connected;
        if (liveDot) {
          liveDot.classList.toggle('on', connected);
          liveDot.title = connected ? t('live_on') : t('live_off');
          liveDot.firstChild.textContent = connected ? t('live_on') : t('live_off');
        }
        // Whatever happened while disconnected was replayed before "ready"; a fresh
        // connection (no cursor) has nothing to replay, so refetch to be sure.
        if (connected) emit('tasks-changed');
      },
    });
    live.start();
    window.ticklerLive = live;
  }
}

on('tasks-changed', () => refreshTodayCount());

// Keyboard: single keys outside text fields, "g" then a letter for views.
let pendingG = 0;
document.addEventListener('keydown', (event) => {
  if (!state.user || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  const typing = target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
  if (typing || panelOpen()) return;
  const key = event.key;
  if (pendingG && Date.now() - pendingG < 1200) {
    pendingG = 0;
    const target = { t: '/today', u: '/upcoming', a: '/all', c: '/completed', s: '/settings', h: '/chat' }[key];
    if (target) { event.preventDefault(); navigate(target); document.getElementById('view-title')?.focus(); }
    return;
  }
  const tasks = screen && screen.move ? screen : null;
  switch (key) {
    case 'g': pendingG = Date.now(); break;
    case 'q': case 'n':
      if (tasks && tasks.focusQuickAdd) { event.preventDefault(); tasks.focusQuickAdd(); }
      else { event.preventDefault(); navigate('/today'); setTimeout(() => screen?.focusQuickAdd?.(), 0); }
      break;
    case '/': event.preventDefault(); shell?.search.focus(); break;
    case 'j': case 'ArrowDown': if (tasks) { event.preventDefault(); tasks.move(1); } break;
    case 'k': case 'ArrowUp': if (tasks) { event.preventDefault(); tasks.move(-1); } break;
    case 'x': {
      const task = tasks && tasks.focusedTask();
      if (task) {
        event.preventDefault();
        if (task.status === 'done') reopenTask(task); else completeTask(task);
      }
      break;
    }
    case 'e': {
      const task = tasks && tasks.focusedTask();
      if (task) { event.preventDefault(); openTaskPanel(task, { zone }); }
      break;
    }
    case '#': case 'Delete': {
      const task = tasks && tasks.focusedTask();
      if (task) { event.preventDefault(); tasks.move(1); deleteTask(task); }
      break;
    }
    case '?': event.preventDefault(); announce(t('shortcuts_help')); navigate('/settings'); document.getElementById('s-keys')?.scrollIntoView(); break;
    default: break;
  }
});

async function boot() {
  applyDocumentLanguage();
  const path = location.pathname;
  const showAuth = () => {
    renderAuth(root, path === '/signup' ? 'signup' : 'signin', { onSignedIn, navigate });
    root.classList.remove('app-loading');
    root.removeAttribute('aria-busy');
  };
  if (path === '/signup' || path === '/signin') return showAuth();
  // The session's cookies are HttpOnly: only the server can tell whether there is one.
  if (hasSession()) await keepSessionFresh();
  let response = await fetch('/api/v1/me', { credentials: 'same-origin', headers: { accept: 'application/json' } }).catch(() => null);
  if (response && response.status === 401 && hasSession() && await refreshSession()) {
    response = await fetch('/api/v1/me', { credentials: 'same-origin', headers: { accept: 'application/json' } }).catch(() => null);
  }
  if (!response || !response.ok) return showAuth();
  state.user = await response.json();
  start();
}

on('user', () => refreshTodayCount());
boot();

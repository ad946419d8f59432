// The assistant: a conversation with clarification choices as buttons, the list of past
// conversations, and text in either direction (dir="auto": Urdu reads right to left in both
// the Arabic script and its Roman transliteration's surroundings).

import { api } from './api.js';
import { formatDateTime, relative } from './dates.js';
import { h, icon, replace } from './dom.js';
import { t } from './i18n.js';
import { emit, loadTags, showError } from './store.js';

const TOOL_ICONS = {
  create_task: 'plus', quick_add: 'plus', update_task: 'settings', complete_task: 'done', reopen_task: 'history',
  delete_task: 'trash', list_tasks: 'all', get_task: 'all', list_tags: 'tag', get_task_history: 'history', parse: 'sparkle',
};

/** Renders the assistant screen; `conversationId` opens a past conversation. */
export function renderChat(main, { zone, conversationId, navigate }) {
  let conversation = conversationId || null;
  const log = h('ol', { class: 'messages' });
  const region = h('section', { class: 'conversation', 'aria-label': t('conversation'), tabindex: '0' },
    h('div', { role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions' }, log));
  const input = h('textarea', {
    id: 'chat-message', rows: 1, dir: 'auto', maxlength: 4000, autocomplete: 'off',
    placeholder: t('message_placeholder'), enterkeyhint: 'send',
  });
  const send = h('button', { type: 'submit', class: 'button primary icon-text' }, icon('send'), h('span', {}, t('send')));
  const form = h('form', { class: 'composer' },
    h('label', { for: 'chat-message', class: 'visually-hidden' }, t('message')), input, send);
  const list = h('ul', { class: 'conversation-list' });
  const side = h('nav', { class: 'conversations', 'aria-label': t('conversations') },
    h('button', { type: 'button', class: 'button wide', on: { click: () => { conversation = null; showWelcome(); navigate('/chat', { replace: true }); input.focus(); markCurrent(); } } }, icon('plus'), t('new_conversation')),
    list);

  const message = (role, content, extra = {}) => {
    const item = h('li', { class: `message ${role}` },
      h('span', { class: 'visually-hidden' }, `${role === 'user' ? t('you') : t('assistant')}: `),
      h('div', { class: 'bubble', dir: 'auto' }, content));
    if (extra.actions && extra.actions.length) {
      item.appendChild(h('ul', { class: 'actions' }, extra.actions.map((action) => {
        const result = action.result || {};
        const titleText = result.title || (result.items ? `${result.items.length}` : '');
        return h('li', { class: 'chip', dir: 'auto' }, icon(TOOL_ICONS[action.tool] || 'sparkle'), `${action.tool.replace(/_/g, ' ')}${titleText ? `: ${titleText}` : ''}`);
      })));
    }
    if (extra.clarification) {
      const choices = h('div', { class: 'choices', role: 'group', 'aria-label': extra.clarification.question, dir: 'auto' },
        extra.clarification.options.map((option) => h('button', {
          type: 'button', class: 'button choice', dir: 'auto',
          on: { click: (event) => { event.currentTarget.parentElement.querySelectorAll('button').forEach((b) => { b.disabled = true; }); ask(option); } },
        }, option)));
      item.appendChild(choices);
    }
    if (extra.at) item.appendChild(h('time', { class: 'message-time', datetime: extra.at }, formatDateTime(new Date(extra.at), zone())));
    log.appendChild(item);
    item.scrollIntoView({ block: 'end' });
    return item;
  };

  const showWelcome = () => {
    replace(log);
    message('assistant', t('assistant_hello'));
  };

  async function ask(text) {
    const content = text.trim();
    if (!content) return;
    message('user', content);
    const waiting = message('assistant', t('thinking'));
    waiting.classList.add('pending');
    send.disabled = true;
    try {
      const reply = await api('POST', '/api/v1/chat', { message: content, conversation_id: conversation || undefined });
      waiting.remove();
      const first = !conversation;
      conversation = reply.conversation_id;
      message('assistant', reply.reply, { actions: reply.actions, clarification: reply.clarification });
      if (reply.actions.some((action) => !['list_tasks', 'get_task', 'list_tags', 'get_task_history', 'parse'].includes(action.tool))) {
        emit('tasks-changed');
        loadTags();
      }
      if (first) navigate(`/chat?c=${conversation}`, { replace: true, quiet: true });
      loadConversations();
    } catch (error) {
      waiting.remove();
      showError(error);
    } finally {
      send.disabled = false;
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value;
    input.value = '';
    ask(text);
    input.focus();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  const markCurrent = () => {
    for (const link of list.querySelectorAll('a')) {
      if (link.dataset.id === conversation) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
  };

  async function loadConversations() {
    try {
      const body = await api('GET', '/api/v1/conversations?limit=30');
      replace(list, body.items.map((item) => h('li', {},
        h('a', {
          href: `/chat?c=${item.id}`, dir: 'auto', dataset: { id: item.id },
          on: { click: (event) => { event.preventDefault(); openConversation(item.id); navigate(`/chat?c=${item.id}`, { replace: true, quiet: true }); } },
        }, h('span', { class: 'conv-title' }, item.title), h('span', { class: 'conv-when' }, relative(new Date(item.updated_at)))))));
      markCurrent();
    } catch {
      // The list is a convenience.
    }
  }

  async function openConversation(id) {
    conversation = id;
    markCurrent();
    try {
      const body = await api('GET', `/api/v1/conversations/${id}`);
      replace(log);
      if (!body.messages.length) showWelcome();
      body.messages.forEach((item, index) => message(item.role, item.content, {
        actions: item.actions,
        // Only the last question can still be answered.
        clarification: index === body.messages.length - 1 ? item.clarification : null,
        at: item.created_at,
      }));
    } catch (error) {
      showError(error);
      showWelcome();
    }
  }

  replace(main,
    h('div', { class: 'view chat-view' },
      h('header', { class: 'view-header' }, h('div', { class: 'view-title' }, h('h1', { id: 'view-title', tabindex: '-1' }, t('chat')))),
      h('div', { class: 'chat-layout' },
        side,
        h('div', { class: 'chat-main' }, region, form))));
  if (conversation) openConversation(conversation);
  else showWelcome();
  loadConversations();
  return { destroy() {}, focusInput: () => input.focus() };
}

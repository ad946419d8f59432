// Toasts: short messages at the bottom of the screen, optionally with actions (Undo, Open,
// Snooze). Each is a status region, so screen readers announce it without moving focus.

import { h, icon } from './dom.js';
import { t } from './i18n.js';

const UNDO_MS = 6000;

function container() {
  return document.getElementById('toasts');
}

/**
 * Shows a toast. `actions` are [{label, run}]; `duration` in ms (0: until dismissed).
 * Returns {close, closed: Promise<'timeout'|'action'|'closed'>}.
 */
export function toast(message, { actions = [], duration = 4000, tone = '' } = {}) {
  const host = container();
  let settle;
  const closed = new Promise((resolve) => { settle = resolve; });
  let timer = 0;
  const close = (reason = 'closed') => {
    clearTimeout(timer);
    element.classList.add('leaving');
    setTimeout(() => element.remove(), 160);
    settle(reason);
  };
  const element = h('div', { class: `toast ${tone}`, role: 'status' },
    h('span', { class: 'toast-text', dir: 'auto' }, message),
    actions.map((action) => h('button', {
      type: 'button', class: 'toast-action',
      on: { click: () => { close('action'); action.run(); } },
    }, action.label)),
    h('button', { type: 'button', class: 'toast-close', 'aria-label': t('close'), on: { click: () => close('closed') } }, icon('close')),
  );
  if (host) {
    host.appendChild(element);
    while (host.children.length > 4) host.firstElementChild.remove();
  }
  if (duration) timer = setTimeout(() => close('timeout'), duration);
  element.addEventListener('mouseenter', () => clearTimeout(timer));
  element.addEventListener('mouseleave', () => { if (duration) timer = setTimeout(() => close('timeout'), duration / 2); });
  return { close, closed };
}

/**
 * Shows "<message> [Undo]" for a few seconds. `undo()` runs when Undo is pressed; `commit()`
 * (optional) runs when the toast goes away without Undo, or at once if the page is closed
 * meanwhile (for actions deferred until the undo window closes).
 */
export function undoable(message, { undo, commit }) {
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    window.removeEventListener('pagehide', finish);
    if (commit) commit();
  };
  if (commit) window.addEventListener('pagehide', finish);
  const shown = toast(message, {
    duration: UNDO_MS,
    actions: [{
      label: t('undo'),
      run: () => {
        done = true;
        window.removeEventListener('pagehide', finish);
        undo();
      },
    }],
  });
  shown.closed.then((reason) => { if (reason !== 'action') finish(); });
  return shown;
}

// The app's shared state and the task actions every screen uses (complete, reopen, delete,
// each undoable for a few seconds).

import { api } from './api.js';
import { t } from './i18n.js';
import { toast, undoable } from './toast.js';

export const state = {
  user: null,
  unread: 0,
  live: false,
  tags: [],
  // Tasks whose change is deferred until their undo window closes: id -> 'done' | 'deleted'.
  pending: new Map(),
};

const listeners = new Map();

/** Subscribes to an app event; returns the unsubscribe function. */
export function on(name, listener) {
  if (!listeners.has(name)) listeners.set(name, new Set());
  listeners.get(name).add(listener);
  return () => listeners.get(name).delete(listener);
}

/** Emits an app event: 'tasks-changed' (refetch), 'task' (one task changed), 'user', 'unread'. */
export function emit(name, detail) {
  for (const listener of listeners.get(name) || []) listener(detail);
}

/** Shows an error the API answered (or a network failure) as a toast. */
export function showError(error) {
  const message = error && error.status === 0 ? t('error_network') : (error && error.message) || t('error_generic');
  toast(message, { tone: 'error', duration: 6000 });
}

/**
 * Completes a task. A task that does not repeat is completed at once (Undo reopens it). A
 * repeating one is completed when the undo window closes (or the page is left), because
 * completing it makes its next instance, which reopening would not take back.
 */
export async function completeTask(task) {
  if (task.recurrence) {
    state.pending.set(task.id, 'done');
    emit('tasks-changed', { local: true });
    undoable(t('completed_toast', { title: task.title }), {
      undo: () => { state.pending.delete(task.id); emit('tasks-changed', { local: true }); },
      commit: () => {
        api('POST', `/api/v1/tasks/${task.id}/complete`, undefined, { keepalive: true })
          .catch(showError)
          .finally(() => { state.pending.delete(task.id); emit('tasks-changed'); });
      },
    });
    return;
  }
  try {
    const done = await api('POST', `/api/v1/tasks/${task.id}/complete`);
    emit('task', done);
    emit('tasks-changed');
    undoable(t('completed_toast', { title: task.title }), {
      undo: async () => {
        try {
          emit('task', await api('POST', `/api/v1/tasks/${task.id}/reopen`));
          emit('tasks-changed');
        } catch (error) { showError(error); }
      },
    });
  } catch (error) {
    showError(error);
    emit('tasks-changed');
  }
}

/** Reopens a completed task (Undo completes it again). */
export async function reopenTask(task) {
  try {
    emit('task', await api('POST', `/api/v1/tasks/${task.id}/reopen`));
    emit('tasks-changed');
    undoable(t('reopened_toast', { title: task.title }), {
      undo: async () => {
        try {
          emit('task', await api('POST', `/api/v1/tasks/${task.id}/complete`));
          emit('tasks-changed');
        } catch (error) { showError(error); }
      },
    });
  } catch (error) {
    showError(error);
  }
}

/**
 * Deletes a task when the undo window closes (a deleted task cannot be brought back, so the
 * request waits); the task disappears from the lists at once.
 */
export function deleteTask(task, scope = 'this') {
  state.pending.set(task.id, 'deleted');
  emit('tasks-changed', { local: true });
  undoable(t('deleted_toast', { title: task.title }), {
    undo: () => { state.pending.delete(task.id); emit('tasks-changed', { local: true }); },
    commit: () => {
      api('DELETE', `/api/v1/tasks/${task.id}?scope=${scope}`, undefined, { keepalive: true })
        .catch((error) => { if (error.status !== 404) showError(error); })
        .finally(() => { state.pending.delete(task.id); emit('tasks-changed'); });
    },
  });
}

/** Refreshes the tag list (by usage) for filters and autocomplete. */
export async function loadTags() {
  try {
    const body = await api('GET', '/api/v1/tags?limit=100');
    state.tags = (body.items || body || []).map((tag) => (typeof tag === 'string' ? { name: tag, count: 0 } : tag));
    emit('tags', state.tags);
  } catch {
    // Tags are a convenience; the lists work without them.
  }
}

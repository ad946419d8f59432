// The live stream: GET /api/v1/live as a WebSocket, authenticated by the session cookie.
// Frames are JSON objects: {"type": "event", "cursor", "event": CloudEvent}, one
// {"type": "ready", "cursor"} once the connection is live (after any replay), and
// {"type": "reset", "reason"} when the client must refetch everything (the server closes
// then). After a drop the client reconnects with ?cursor=<last cursor>, and the server
// replays everything it missed, in order, before "ready".

import { refreshSession, accessExpiresIn, hasSession } from './api.js';

const MAX_BACKOFF_MS = 10_000;

export class LiveStream {
  /**
   * `onEvent(cloudEvent)` for each event, `onReset()` when everything must be refetched,
   * `onStatus(connected: boolean)` when the connection goes up or down.
   */
  constructor({ onEvent, onReset, onStatus }) {
    this.onEvent = onEvent;
    this.onReset = onReset;
    this.onStatus = onStatus;
    this.cursor = null;
    this.socket = null;
    this.attempt = 0;
    this.timer = 0;
    this.stopped = false;
    this.connected = false;
    this.wake = () => { if (!this.connected) this.reconnectNow(); };
    window.addEventListener('online', this.wake);
    document.addEventListener('visibilitychange', this.wake);
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    window.removeEventListener('online', this.wake);
    document.removeEventListener('visibilitychange', this.wake);
    if (this.socket) this.socket.close(1000);
    this.socket = null;
  }

  reconnectNow() {
    if (this.stopped || document.hidden) return;
    clearTimeout(this.timer);
    if (this.socket && this.socket.readyState <= 1) return;
    this.connect();
  }

  async connect() {
    if (this.stopped || !hasSession()) return;
    // The upgrade carries the access cookie: make sure it is fresh (a browser cannot read the
    // status of a refused upgrade, so renew before rather than after).
    if (accessExpiresIn() < 60_000) await refreshSession();
    if (this.stopped) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = new URL(`${scheme}//${location.host}/api/v1/live`);
    if (this.cursor) url.searchParams.set('cursor', this.cursor);
    let socket;
    try {
      socket = new WebSocket(url);
    } catch {
      this.schedule();
      return;
    }
    this.socket = socket;
    socket.addEventListener('message', (message) => this.receive(message));
    socket.addEventListener('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.setConnected(false);
      this.schedule();
    });
  }

  receive(message) {
    let frame;
    try {
      frame = JSON.parse(message.data);
    } catch {
      return;
    }
    if (frame.type === 'event') {
      if (frame.cursor) this.cursor = frame.cursor;
      if (frame.event) this.onEvent(frame.event);
    } else if (frame.type === 'ready') {
      if (frame.cursor) this.cursor = frame.cursor;
      this.attempt = 0;
      this.setConnected(true);
    } else if (frame.type === 'reset') {
      // The cursor is too old (or the client fell behind): start over from now.
      this.cursor = null;
      this.onReset(frame.reason);
    }
  }

  setConnected(connected) {
    if (this.connected === connected) return;
    this.connected = connected;
    this.onStatus(connected);
  }

  schedule() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt);
    this.attempt += 1;
    this.timer = setTimeout(() => this.connect(), base / 2 + Math.random() * (base / 2));
  }

  /** Drops the connection as a network failure would (for the reconnect path). */
  drop() {
    if (this.socket) this.socket.close(4000, 'dropped');
  }
}

// rt.js — the WebSocket client: auth frame, heartbeat, reconnect with backoff and jitter; a
// handshake that hangs (stuck in CONNECTING) is given up after 10 s and retried like a drop.
// Frames are handed to onFrame; connection state changes to onState('connecting'|'ready'|'down').
import { token, refresh, onSession } from './api.js';

const PING_EVERY = 20000;
const DEAD_AFTER = 50000;
const CONNECT_TIMEOUT = 10000;

export class RT {
  constructor({ onFrame, onState, onAuthLost }) {
    this.onFrame = onFrame;
    this.onState = onState;
    this.onAuthLost = onAuthLost;
    this.ws = null;
    this.want = false;
    this.ready = false;
    this.attempt = 0;
    this.retryTimer = null;
    this.connectTimer = null;
    this.beat = null;
    this.lastIn = 0;
    this.lastPing = 0;
    onSession((s) => {
      // a fresh token on an open socket: re-authenticate it (SPEC §4 allows auth at any time)
      if (s && this.ready) this.raw({ type: 'auth', token: s.accessToken });
    });
    window.addEventListener('online', () => { if (this.want && !this.ws) this.connectNow(); });
  }

  start() {
    if (this.want) return;
    this.want = true;
    this.connectNow();
  }

  stop() {
    this.want = false;
    clearTimeout(this.retryTimer);
    this.teardown(1000);
  }

  connectNow() {
    clearTimeout(this.retryTimer);
    if (!this.want || this.ws) return;
    if (!token()) {
      refresh().then((ok) => (ok ? this.connectNow() : this.onAuthLost()), () => this.scheduleRetry());
      return;
    }
    this.onState('connecting');
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
    this.ws = ws;
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => {
      if (ws === this.ws && ws.readyState === WebSocket.CONNECTING) this.closed(ws, 0);
    }, CONNECT_TIMEOUT);
    ws.onopen = () => {
      clearTimeout(this.connectTimer);
      this.lastIn = Date.now();
      ws.send(JSON.stringify({ type: 'auth', token: token() }));
    };
    ws.onmessage = (ev) => {
      this.lastIn = Date.now();
      let f;
      try { f = JSON.parse(ev.data); } catch { return; }
      if (!f || typeof f.type !== 'string') return;
      if (f.type === 'ready') {
        const first = !this.ready;
        this.ready = true;
        this.attempt = 0;
        if (first) this.onState('ready');
      }
      if (f.type === 'pong') return;
      this.onFrame(f);
    };
    ws.onclose = (ev) => this.closed(ws, ev.code);
    ws.onerror = () => {};
    clearInterval(this.beat);
    this.beat = setInterval(() => this.heartbeat(), 5000);
  }

  heartbeat() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    const now = Date.now();
    if (now - this.lastIn > DEAD_AFTER) { this.closed(this.ws, 0); return; }
    if (this.ready && now - this.lastPing > PING_EVERY) {
      this.lastPing = now;
      this.raw({ type: 'ping' });
    }
  }

  teardown(code) {
    clearInterval(this.beat);
    clearTimeout(this.connectTimer);
    const ws = this.ws;
    this.ws = null;
    const was = this.ready;
    this.ready = false;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      try { ws.close(code || 1000); } catch { /* ignore */ }
    }
    return was;
  }

  closed(ws, code) {
    if (ws !== this.ws) return;
    this.teardown(1000);
    this.onState('down');
    if (!this.want) return;
    if (code === 4403) { this.want = false; this.onAuthLost('BANNED'); return; }
    if (code === 4401) {
      // token expired or refused: get a fresh one before the next attempt
      refresh().then((ok) => (ok ? this.scheduleRetry() : this.onAuthLost()), () => this.scheduleRetry());
      return;
    }
    this.scheduleRetry();
  }

  scheduleRetry() {
    if (!this.want) return;
    clearTimeout(this.retryTimer);
    const base = Math.min(15000, 500 * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 8);
    const delay = base / 2 + Math.random() * (base / 2); // jitter
    this.retryTimer = setTimeout(() => this.connectNow(), delay);
  }

  raw(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  // Sends once authenticated; false when offline (the caller keeps what must survive).
  send(frame) {
    if (!this.ready) return false;
    return this.raw(frame);
  }
}

// The reader protocol's client (README "Reader protocol"), shared by the
// ticker and the newsroom console: WebSocket, SSE after two failed
// WebSocket opens (WebSocket again later), resume with since and epoch,
// reconnect with back-off and jitter, whole snapshots.
//
// new Reader({base, query, onSnapshot, onEvent, onState, maxDelay}):
//   base        server URL without the trailing slash ("https://x" or "https://x/nf";
//               default this page's origin); reader.base may change it before start()
//   query()     URLSearchParams of the filter (and backfill); since and epoch are added
//   onSnapshot(items)       a complete fresh snapshot: replace the list (oldest first)
//   onEvent(type, item)     "item", "update" or "retract", live or replayed
//   onState(state, info)    "connecting", "live", "waiting" or "off"; info has
//                           transport ("ws", "sse"), attempt, delay (ms, waiting),
//                           loading (a snapshot is coming), recovered
//   maxDelay    longest back-off, ms (default 30000)
// start() connects (again, from a fresh snapshot); stop() closes.

// home: the server this module (/static/reader.js) came from, no trailing
// slash; the ticker cannot know its own address when loaded as a module.
export const home = new URL("..", import.meta.url).href.replace(/\/$/, "");

const TYPES = new Set(["item", "update", "retract"]);
const WS_RETRY = 60000; // on SSE, try the WebSocket again after this, doubling
const parse = (s) => { try { return JSON.parse(s); } catch { return null; } };

export class Reader {
  constructor(opts) {
    this.o = opts;
    this.base = opts.base || location.origin;
    this.online = () => { if (this.state === "waiting") { this.attempt = 0; this.connect(); } };
  }

  start() {
    this.stop();
    this.stopped = false;
    this.cursor = null; // resume point; null: ask for a fresh snapshot
    this.epoch = "";
    this.attempt = 0; // reconnects since the last welcome
    this.wsFails = 0; // WebSocket opens failed in a row
    this.wsDelay = WS_RETRY;
    addEventListener("online", this.online);
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.close();
    clearTimeout(this.timer);
    clearTimeout(this.wsTimer);
    this.timer = this.wsTimer = 0;
    removeEventListener("online", this.online);
    this.set("off");
  }

  set(state, delay) {
    this.state = state;
    this.o.onState?.(state, { transport: this.transport, attempt: this.attempt, delay, loading: !!this.snap, recovered: this.recovered });
  }

  connect() {
    clearTimeout(this.timer);
    this.close();
    if (this.stopped) return;
    const q = this.o.query();
    if (this.cursor != null) {
      q.set("since", this.cursor);
      if (this.epoch) q.set("epoch", this.epoch);
    }
    const sse = window.EventSource;
    if (window.WebSocket && (this.wsFails < 2 || !sse)) this.openWS(q);
    else if (sse) this.openSSE(q);
    else return;
    this.set("connecting");
  }

  close() {
    const c = this.conn;
    this.conn = null;
    if (c) {
      c.onclose = c.onerror = null;
      c.close();
    }
    if (this.snap) this.snap = this.cursor = null; // incomplete: ask for a whole one
  }

  openWS(q) {
    this.transport = "ws";
    let ws, opened = false;
    try {
      ws = new WebSocket(this.base.replace(/^http/, "ws") + "/api/v1/ws?" + q);
    } catch {
      this.wsFails = 2;
      this.timer = setTimeout(() => this.connect());
      return;
    }
    this.conn = ws;
    const guard = setTimeout(() => ws.close(), 10000);
    ws.onopen = () => { opened = true; clearTimeout(guard); this.wsFails = 0; };
    ws.onmessage = (e) => {
      const f = this.conn === ws && parse(e.data);
      if (f && f.type === "welcome") this.welcome(f);
      else if (f) this.frame(f.type, f.seq, f.item);
    };
    ws.onclose = (e) => {
      clearTimeout(guard);
      if (this.conn !== ws) return;
      this.close();
      if (!opened) this.wsFails++;
      // Second failure: straight to SSE. A slow reader closed at once
      // resumes at once.
      this.dropped(this.wsFails === 2 ? 0 : e.code === 1008 && this.attempt === 0 ? 200 : null);
    };
  }

  openSSE(q) {
    this.transport = "sse";
    const es = (this.conn = new EventSource(this.base + "/api/v1/sse?" + q));
    let got = false;
    for (const t of ["welcome", ...TYPES]) {
      es.addEventListener(t, (e) => {
        const d = this.conn === es && parse(e.data);
        if (d && t === "welcome") { got = true; this.welcome(d); }
        else if (d) this.frame(t, Number(e.lastEventId), d);
      });
    }
    // Reconnect ourselves: a drop inside a snapshot must ask for a whole
    // one. SSE failing too: the server is away; WebSocket next time.
    es.onerror = () => {
      if (this.conn !== es) return;
      if (!got) this.wsFails = 0;
      this.close();
      this.dropped(null);
    };
    if (!this.wsTimer && window.WebSocket) {
      this.wsTimer = setTimeout(() => {
        this.wsTimer = 0;
        this.wsDelay = Math.min(this.wsDelay * 2, 900000);
        this.wsFails = 1; // one more failure and it is SSE again
        if (this.snap) this.wsTimer = setTimeout(() => this.connect(), 5000);
        else this.connect();
      }, this.wsDelay);
    }
  }

  // dropped reconnects after delay, or a back-off of 1 s to maxDelay with
  // jitter.
  dropped(delay) {
    const base = Math.min(this.o.maxDelay || 30000, 1000 * 2 ** Math.min(this.attempt++, 5));
    delay ??= Math.round(base * (0.5 + Math.random() / 2));
    this.timer = setTimeout(() => this.connect(), delay);
    this.set("waiting", delay);
  }

  welcome(w) {
    this.attempt = 0;
    this.recovered = !!w.recovered;
    if (this.transport === "ws") this.wsDelay = WS_RETRY;
    if (typeof w.epoch === "string") this.epoch = w.epoch;
    if (!w.recovered) {
      this.cursor = w.seq;
      this.snap = [];
      this.pending = w.backfill | 0;
    }
    this.set("live");
    if (this.snap && this.pending <= 0) this.commit();
  }

  frame(type, seq, item) {
    if (!TYPES.has(type)) return;
    if (Number.isFinite(seq)) this.cursor = seq;
    const ok = item && typeof item === "object" && typeof item.id === "string";
    if (!this.snap) {
      if (ok) this.o.onEvent(type, item);
      return;
    }
    if (ok && type !== "retract") this.snap.push(item);
    if (--this.pending <= 0) this.commit();
  }

  commit() {
    const items = this.snap;
    this.snap = null;
    this.o.onSnapshot(items);
    this.set("live");
  }
}

// Promise client for web/js/worker.js, and its supervisor: call(type, payload) -> {ok, result | error}
// (never rejects); events {type: "progress" | "ready" | "restarting" | "fatal"} for the status line.
//
// The worker is watched: a boot with no progress for BOOT_STALL_MS fails (the page offers a retry);
// once it has been ready, a request unanswered after REQUEST_MS, a worker that died, a reply that is
// not an answer, or a heap past HEAP_LIMIT gets the worker replaced by a fresh one and the requests
// in flight sent again, once each.  Tests may shorten the limits through window.calcTimeouts.

export const LIMITS = {
  bootStallMs: 30_000, // no progress event for this long while starting: the boot has stalled
  requestMs: 20_000, // the slowest hostile request takes ~1 s in Pyodide here (python -m bench.hostile)
  heapLimit: 1536 * 2 ** 20, // wasm heap bytes; past them the worker is replaced after its answer
  ...(globalThis.calcTimeouts || {}),
};

export class CalcBridge {
  /** workerUrl: web/js/worker.js; calcZip: what the worker boots from (build.py worker_boot: the calc
   * archive's name and the snapshot's), given to the worker as its name.  early: {worker, messages, errors} from boot.js, a worker already started, taken over here. */
  constructor(workerUrl, calcZip, early = null) {
    this.workerUrl = workerUrl;
    this.calcZip = calcZip;
    this.pending = new Map(); // id -> {type, payload, resolve, tries, timer}
    this.nextId = 1;
    this.listeners = new Set();
    this.versions = null;
    this.failure = null;
    this.restarts = 0;
    this.makeReady();
    this.start(early);
  }

  makeReady() {
    this.ready = new Promise((resolve, reject) => { this.resolveReady = resolve; this.rejectReady = reject; });
    this.ready.catch(() => {});
  }

  /** Start a worker (or take over boot.js's) and watch its boot. */
  start(early = null) {
    const worker = early ? early.worker : new Worker(this.workerUrl, { type: "module", name: this.calcZip });
    this.worker = worker;
    this.live = false; // true once this worker said "ready"
    worker.onmessage = ({ data }) => { if (worker === this.worker) this.receive(data); };
    worker.onerror = (event) => {
      event.preventDefault?.();
      if (worker === this.worker) this.trouble(event.message || "the worker could not be loaded");
    };
    this.watchBoot();
    if (early) {
      // replayed after the page's listeners are attached (they are, by the next task)
      setTimeout(() => {
        early.messages.forEach((message) => { if (worker === this.worker) this.receive(message); });
        early.errors.forEach((error) => { if (worker === this.worker) this.trouble(error); });
      });
    }
  }

  watchBoot() {
    clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => this.trouble("stalled"), LIMITS.bootStallMs);
  }

  receive(message) {
    if (message.id !== undefined) return this.answer(message);
    if (message.type === "progress") this.watchBoot();
    if (message.type === "ready") {
      clearTimeout(this.stallTimer);
      this.live = true;
      this.versions = message.versions;
      this.resolveReady(message.versions);
      for (const id of this.pending.keys()) this.post(id);
    }
    if (message.type === "fatal") return this.trouble(message.error);
    this.emit(message);
  }

  answer(message) {
    const entry = this.pending.get(message.id);
    if (!entry) return;
    clearTimeout(entry.timer);
    if (typeof message.ok !== "boolean" || message.garbage) return this.replace("its answer was not readable");
    this.pending.delete(message.id);
    const { text, ...reply } = message; // an answer comes as its JSON text (worker.js), parsed here once
    if (text !== undefined) reply.result = JSON.parse(text);
    entry.resolve(reply);
    if (message.heap > LIMITS.heapLimit) this.replace("its memory grew past the limit");
  }

  /** Something went wrong with the worker: once it has been ready, replace it; while it starts
   * (the first time or as a replacement), the start has failed. */
  trouble(error) {
    if (this.live) this.replace(String(error));
    else this.fail(String(error));
  }

  /** A fresh worker in place of a ready one; the requests in flight go again, once each. */
  replace(reason) {
    this.worker.terminate();
    this.restarts += 1;
    for (const [id, entry] of this.pending) {
      clearTimeout(entry.timer);
      entry.tries += 1;
      if (entry.tries > 2) {
        this.pending.delete(id);
        entry.resolve({ id, ok: false, error: { code: "worker_failed", field: null, message: reason } });
      }
    }
    this.emit({ type: "restarting", reason });
    this.start();
  }

  fail(error) {
    if (this.failure) return;
    clearTimeout(this.stallTimer);
    this.worker.terminate();
    this.failure = String(error);
    this.rejectReady(new Error(this.failure));
    for (const [id, entry] of this.pending) {
      clearTimeout(entry.timer);
      entry.resolve({ id, ok: false, error: { code: "worker_failed", field: null, message: this.failure } });
    }
    this.pending.clear();
    this.emit({ type: "fatal", error: this.failure });
  }

  /** Start again after a failed start (the page's retry button). */
  retry() {
    if (!this.failure) return;
    this.failure = null;
    this.makeReady();
    this.start();
  }

  emit(event) { for (const listener of this.listeners) listener(event); }

  on(listener) { this.listeners.add(listener); return () => this.listeners.delete(listener); }

  post(id) {
    const entry = this.pending.get(id);
    entry.timer = setTimeout(() => this.replace("it stopped answering"), LIMITS.requestMs);
    this.worker.postMessage({ id, type: entry.type, payload: entry.payload });
  }

  /** Send one request; resolves with the worker's reply {id, ok, result | error}; never rejects. */
  call(type, payload = {}) {
    if (this.failure) return Promise.resolve({ ok: false, error: { code: "worker_failed", field: null, message: this.failure } });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { type, payload, resolve, tries: 1, timer: null });
      if (this.live) this.post(id); // otherwise sent when the worker is ready
    });
  }
}

/**
 * Wrap send(request) so that at most one request is in flight and only the latest request waiting
 * behind it is sent next (a slider drag never queues work).  onAnswer(request, answer, superseded).
 */
export function coalesce(send, onAnswer) {
  let inFlight = false;
  let next = null;
  async function pump() {
    inFlight = true;
    while (next) {
      const request = next;
      next = null;
      const answer = await send(request);
      onAnswer(request, answer, next !== null);
    }
    inFlight = false;
  }
  return (request) => {
    next = request;
    if (!inFlight) pump();
  };
}

// Promise client for web/js/worker.js: call(type, payload) -> {ok, result | error}; events for progress.

export class CalcBridge {
  /** workerUrl: web/js/worker.js; calcZip: the calc archive's file name, given to the worker as its
   * name.  early: {worker, messages, errors} from boot.js, a worker already started, taken over here. */
  constructor(workerUrl, calcZip, early = null) {
    this.pending = new Map();
    this.nextId = 1;
    this.listeners = new Set();
    this.versions = null;
    this.failure = null;
    this.ready = new Promise((resolve, reject) => { this.resolveReady = resolve; this.rejectReady = reject; });
    this.ready.catch(() => {});
    this.worker = early ? early.worker : new Worker(workerUrl, { type: "module", name: calcZip });
    this.worker.onmessage = ({ data }) => this.receive(data);
    this.worker.onerror = (event) => { event.preventDefault?.(); this.fail(event.message || "the worker could not be loaded"); };
    if (early) {
      // replayed after the page's listeners are attached (they are, by the next task)
      setTimeout(() => {
        early.messages.forEach((message) => this.receive(message));
        early.errors.forEach((error) => this.fail(error));
      });
    }
  }

  receive(message) {
    if (message.id !== undefined) {
      const resolve = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (resolve) resolve(message);
      return;
    }
    if (message.type === "ready") { this.versions = message.versions; this.resolveReady(message.versions); }
    if (message.type === "fatal") { this.fail(message.error); return; }
    this.emit(message);
  }

  fail(error) {
    if (this.failure) return;
    this.failure = String(error);
    this.rejectReady(new Error(this.failure));
    for (const [id, resolve] of this.pending) resolve({ id, ok: false, error: { code: "fatal", field: null, message: this.failure } });
    this.pending.clear();
    this.emit({ type: "fatal", error: this.failure });
  }

  emit(event) { for (const listener of this.listeners) listener(event); }

  on(listener) { this.listeners.add(listener); return () => this.listeners.delete(listener); }

  /** Send one request; resolves with the worker's reply {id, ok, result | error}; never rejects. */
  call(type, payload = {}) {
    if (this.failure) return Promise.resolve({ ok: false, error: { code: "fatal", field: null, message: this.failure } });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.worker.postMessage({ id, type, payload });
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

/**
 * One helper thread for synchronous data-parallel kernels (batch prediction, where the API returns a
 * value, not a promise): the caller hands the helper its share of the rows, computes its own share,
 * then waits until the helper is done. Inputs and outputs the helper writes live in SharedArrayBuffers.
 * The helper starts on first use and is used from the next call on (until it has loaded, callers do all
 * the work themselves); it is unref'd, so it never keeps the process alive. Inside a pool worker (a
 * search running folds on every core) there is no helper.
 *
 * The hand-off is built for batches of a few tens of microseconds: a task goes through a MessagePort
 * the helper reads synchronously (receiveMessageOnPort), and a doorbell in shared memory wakes it
 * (Atomics.notify) — no event-loop turn on either side. A task whose argument is a few int32 words
 * (runWithHelperWords: a fit's per-node histograms) skips the port once its state is with the helper:
 * the words go in the shared control array, nothing is cloned. Each side spins briefly before it sleeps
 * (the helper after a task, the caller for the helper's share), so back-to-back batches hand off in
 * about a microsecond. A task's `state` (a model's tables) is cloned to the helper once per object and
 * kept there until the object is collected on this side.
 *
 * A posted task is the helper's only once it claims it (it swaps the task's token out of the CLAIM
 * slot). A caller done with its own share takes back a task the helper has not claimed (the same swap)
 * and does that share itself at once: a helper that is asleep or descheduled costs no wait, and as it
 * never starts the task, nothing of it is left running. Only for a claimed task does the caller wait,
 * bounded (HELPER_WAIT_MIN_MS, or as long as its own share took): a helper that is late (descheduled,
 * stuck) is left to finish alone while the caller does the helper's share itself, so a server's event
 * loop never waits on the helper for more than its own work's time.
 */
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import { HELPER_TASKS, type HelperTaskName, type Task, type TaskArgs, type TaskState } from "./tasks.ts";

/**
 * ctl slots: READY (1 once the helper listens), STATE (0 idle, 1 posted or running, 2 done, 3
 * failed), BELL (a counter), CLAIM (the token of the task posted and not claimed yet, else 0: see
 * taskToken), then the words' mailbox: the task's state id, the helper's spin after it (µs), and its
 * argument words.
 */
export const READY = 0;
export const STATE = 1;
export const BELL = 2;
export const CLAIM = 3;
export const WORDS_STATE = 4;
export const WORDS_SPIN_US = 5;
export const WORDS_ARGS = 6;
/** The most argument words a task sent as words takes. */
export const MAX_WORDS = 16;
export const RUNNING = 1;
export const DONE = 2;
export const FAILED = 3;

/** Bits of a task's token that say which task went as words (its HELPER_TASKS index + 1; 0: by message). */
export const TOKEN_WORDS_BITS = 5;
const TOKEN_WORDS_MASK = (1 << TOKEN_WORDS_BITS) - 1;
/** Posts so far (the token's upper bits; wraps, never 0). */
let posts = 0;

/**
 * A fresh task's token: a count of posts (so a message the helper reads after its task was taken
 * back finds another token in CLAIM, or none, and is skipped) and, for a task sent as words, which
 * task it is (the helper reads the words only after it has claimed that token: the mailbox is not
 * written again before then).
 */
function taskToken(wordsTask: number): number {
  posts = (posts + 1) & ((1 << (31 - TOKEN_WORDS_BITS)) - 1) || 1;
  return (posts << TOKEN_WORDS_BITS) | wordsTask;
}

/** The HELPER_TASKS index of a token's task sent as words, or -1 for a task sent by message. */
export function wordsTaskOf(token: number): number {
  return (token & TOKEN_WORDS_MASK) - 1;
}

/**
 * How long the caller spins for the helper's share before it sleeps, and the helper for the next task
 * (unless the task asks for longer: runWithHelper's `helperSpinMs`).
 */
const CALLER_SPIN_MS = 0.5;
export const HELPER_SPIN_MS = 0.2;

/**
 * The least the caller waits for the helper's share after finishing its own (it waits as long as its
 * own share took when that is longer: the shares are the same size). A wake-up takes microseconds; this
 * leaves room for a thread descheduled on a busy machine, and bounds what a late helper costs.
 */
export const HELPER_WAIT_MIN_MS = 20;

/** A message to the helper: a task (its state cloned only the first time), or a state to drop. */
export type HelperMessage =
  | {
      kind: "task";
      task: Task<HelperTaskName>;
      /** The task's token (taskToken): the helper runs it only if it claims it. */
      token: number;
      stateId: number;
      state?: object;
      spinMs?: number;
    }
  | { kind: "drop"; stateId: number };

interface Helper {
  worker: Worker;
  port: MessagePort;
  ctl: Int32Array;
  broken: boolean;
  /** State ids this helper has been sent. */
  sent: Set<number>;
}

let helper: Helper | null = null;

/** Ids of task states (per object, for the process's life), and the helper told when one is collected. */
const stateIds = new WeakMap<object, number>();
let nextStateId = 1;
const collected = new FinalizationRegistry<number>((id) => {
  const h = helper;
  if (!h || h.broken || !h.sent.delete(id)) return;
  try {
    post(h, { kind: "drop", stateId: id });
  } catch {
    // the port is closed: the helper is going away with what it keeps
  }
});

/** Queue `m` for the helper (a message that cannot be cloned throws here), then ring. */
function post(h: Helper, m: HelperMessage): void {
  h.port.postMessage(m);
  ring(h);
}

/** Wake the helper: it reads CLAIM and its port after each ring. */
function ring(h: Helper): void {
  Atomics.add(h.ctl, BELL, 1);
  Atomics.notify(h.ctl, BELL);
}

function start(): void {
  const ctl = new Int32Array(new SharedArrayBuffer(4 * (WORDS_ARGS + MAX_WORDS)));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL("./helper-worker.ts", import.meta.url), {
    workerData: { ctl, port: port2 },
    transferList: [port2],
    // a helper thread runs tasks inline, as a pool worker does (inWorker)
    env: { ...process.env, NETSEC_IN_WORKER: "1" },
  });
  worker.unref();
  port1.unref();
  const h: Helper = { worker, port: port1, ctl, broken: false, sent: new Set() };
  worker.on("error", () => {
    h.broken = true;
  });
  worker.on("exit", () => {
    h.broken = true;
    if (helper === h) helper = null;
  });
  helper = h;
}

/** Calls of `onThisThread` under way (nested ones count each). */
let alone = 0;

/**
 * Run `fn` with every kernel on this thread: helperReady() is false meanwhile (no hand-off, and no
 * helper started). For work too small for the hand-off to repay on a busy machine: the stream's
 * paced batches of tens to hundreds of rows, where a split cost the process about 1 ms of CPU a batch
 * (the caller's and the helper's spins, the helper's wake-up) to save at most a few hundred µs of the
 * caller's (BENCHMARKS.md "Streaming"). The results are the same either way.
 */
export function onThisThread<T>(fn: () => T): T {
  alone++;
  try {
    return fn();
  } finally {
    alone--;
  }
}

/**
 * Whether this thread may hand work to a helper at all now (not inside onThisThread, not a pool
 * worker): work that only a hand-off uses need not be prepared otherwise.
 */
export function helperAllowed(): boolean {
  return alone === 0 && process.env.NETSEC_IN_WORKER !== "1";
}

/** Whether a helper is up and idle now (starts one for later calls when there is none). */
export function helperReady(): boolean {
  if (!helperAllowed()) return false;
  if (!helper) {
    start();
    return false;
  }
  return (
    !helper.broken && Atomics.load(helper.ctl, READY) === 1 && Atomics.load(helper.ctl, STATE) !== RUNNING
  );
}

/** Whether the helper already keeps `state` (sent with an earlier task). */
export function helperHas(state: object): boolean {
  const id = stateIds.get(state);
  return id !== undefined && helper?.sent.has(id) === true;
}

/** Batches asked about per model (splitRepays). */
const asked = new WeakMap<object, number>();

/**
 * Whether a batch of the model `state` is worth splitting, as far as cloning the model to the helper
 * goes: yes when the helper has it already, when this batch alone repays the clone (`repays`), or from
 * the model's second batch on (a model used again is likely used many times: the clone is paid once).
 * A one-off prediction with a large model stays on the caller's thread.
 */
export function cloneRepaid(state: object, repays: boolean): boolean {
  if (repays || helperHas(state)) return true;
  const n = (asked.get(state) ?? 0) + 1;
  asked.set(state, n);
  return n >= 2;
}

/**
 * Run `task` on the helper while `mine()` runs here; returns whether the helper completed it. When it
 * did not (it had not claimed the task when `mine()` returned, it failed, or it was still running when
 * the bounded wait ended) the caller must do the task's share itself, and must not read what the
 * helper writes: a late helper may still be writing (it gets no new task until it is done, and later
 * calls get fresh scratch buffers). The task's
 * function is called as fn(task.args, state): `state`, when given, is a read-only object the helper
 * keeps between calls (cloned to it on first use only: a model's tables). Call only after
 * helperReady() returned true. `minWaitMs`: the least the caller waits for the helper's share (a
 * caller whose own share of the work is always short, like a fit's histograms, waits less).
 * `helperSpinMs`: how long the helper spins for a next task after this one before it sleeps (a caller
 * that hands off again and again with short gaps, like a fit, keeps it awake: waking it costs more).
 */
export function runWithHelper<N extends HelperTaskName>(
  task: Task<N>,
  mine: () => void,
  state?: TaskState<N> & object,
  minWaitMs = HELPER_WAIT_MIN_MS,
  helperSpinMs = HELPER_SPIN_MS,
): boolean {
  const h = helper;
  if (!h || h.broken) {
    mine();
    return false;
  }
  let stateId = 0;
  let send: object | undefined;
  if (state) {
    stateId = stateIds.get(state) ?? 0;
    if (!stateId) {
      stateId = nextStateId++;
      stateIds.set(state, stateId);
      collected.register(state, stateId);
    }
    if (!h.sent.has(stateId)) send = state;
  }
  const token = taskToken(0);
  // posted before the message is sent: the helper can claim it as soon as it reads it
  Atomics.store(h.ctl, STATE, RUNNING);
  Atomics.store(h.ctl, CLAIM, token);
  try {
    const m: HelperMessage = { kind: "task", task, token, stateId };
    if (send) m.state = send;
    if (helperSpinMs !== HELPER_SPIN_MS) m.spinMs = helperSpinMs;
    post(h, m);
  } catch {
    // arguments that cannot be cloned: nothing was sent, the helper stays idle; the caller does it all
    Atomics.store(h.ctl, CLAIM, 0);
    Atomics.store(h.ctl, STATE, 0);
    mine();
    return false;
  }
  if (send) h.sent.add(stateId);
  return awaitHelper(h, task.name, token, mine, minWaitMs) === "helper";
}

/**
 * Who did a hand-off's helper share: "helper" (done, its output ready), "caller" (the helper never
 * started it: the caller must do it, and nothing else writes the helper's outputs), or "late" (the
 * helper started it and had not finished when the wait ended, or it failed: the caller must do it
 * and must neither read nor reuse what the helper writes).
 */
export type HandOff = "helper" | "caller" | "late";

/** A task's hand-offs so far: how many each HandOff, and the caller's waits for claimed ones (ms). */
export type HandOffCounts = Record<HandOff, number> & { waitMs: number };

const handOffs = new Map<HelperTaskName, HandOffCounts>();

/**
 * Hand-offs in this thread so far, per task: who did the helper's share, and how long the caller
 * waited after its own (benchmarks: how often a helper was not there to claim a task, was late with
 * one it claimed, and what the waits cost).
 */
export function helperHandOffs(): Map<HelperTaskName, HandOffCounts> {
  return new Map([...handOffs].map(([k, v]) => [k, { ...v }]));
}

function countHandOff(name: HelperTaskName, by: HandOff, waitMs: number): void {
  let c = handOffs.get(name);
  if (!c) handOffs.set(name, (c = { helper: 0, caller: 0, late: 0, waitMs: 0 }));
  c[by]++;
  c.waitMs += waitMs;
}

/**
 * runWithHelper for a task whose argument is a few int32 words (`words`, at most MAX_WORDS) and whose
 * `state` the helper keeps already (sent with an earlier task): the words go through the shared
 * control array, not the port, so the hand-off clones nothing and reads no message (a fit's node
 * hands off this way thousands of times). The task's function is called with an Int32Array of the
 * words (valid until it returns). Otherwise (the state not sent yet) it goes as runWithHelper's task
 * (then a share the helper did not do is "late": it may have been started).
 */
export function runWithHelperWords<N extends HelperTaskName>(
  name: N & (TaskArgs<N> extends Int32Array ? N : never),
  words: ArrayLike<number>,
  mine: () => void,
  state: TaskState<N> & object,
  minWaitMs = HELPER_WAIT_MIN_MS,
  helperSpinMs = HELPER_SPIN_MS,
): HandOff {
  const h = helper;
  const stateId = stateIds.get(state);
  if (!h || h.broken || stateId === undefined || !h.sent.has(stateId) || words.length > MAX_WORDS) {
    const args = Int32Array.from(words) as TaskArgs<N>;
    return runWithHelper({ name, args } as Task<N>, mine, state, minWaitMs, helperSpinMs) ? "helper" : "late";
  }
  const { ctl } = h;
  ctl[WORDS_STATE] = stateId;
  ctl[WORDS_SPIN_US] = Math.round(helperSpinMs * 1000);
  for (let i = 0; i < words.length; i++) ctl[WORDS_ARGS + i] = words[i]!;
  Atomics.store(ctl, STATE, RUNNING);
  // (after the words: the helper reads them once it has claimed this token)
  const token = taskToken(HELPER_TASKS.indexOf(name) + 1);
  Atomics.store(ctl, CLAIM, token);
  ring(h);
  return awaitHelper(h, name, token, mine, minWaitMs);
}

/**
 * runWithHelper's second half: `mine()`, then the task posted just now (`token`) taken back if the
 * helper has not claimed it, else the bounded wait for it.
 */
function awaitHelper(
  h: Helper,
  name: HelperTaskName,
  token: number,
  mine: () => void,
  minWaitMs: number,
): HandOff {
  const started = performance.now();
  mine();
  if (Atomics.compareExchange(h.ctl, CLAIM, token, 0) === token) {
    // not started (asleep, descheduled, or busy reading its port): never will be; the caller does it
    Atomics.store(h.ctl, STATE, 0);
    countHandOff(name, "caller", 0);
    return "caller";
  }
  const now = performance.now();
  // the helper's share usually ends about when ours does: spin a little before sleeping
  const spinUntil = now + CALLER_SPIN_MS;
  while (Atomics.load(h.ctl, STATE) === RUNNING && performance.now() < spinUntil) Atomics.pause();
  const deadline = now + Math.max(minWaitMs, now - started);
  for (let left = deadline - performance.now(); left > 0; left = deadline - performance.now()) {
    if (Atomics.wait(h.ctl, STATE, RUNNING, left) !== "ok") break;
  }
  const end = Atomics.load(h.ctl, STATE);
  countHandOff(name, end === DONE ? "helper" : "late", performance.now() - now);
  if (end === DONE) {
    Atomics.store(h.ctl, STATE, 0);
    return "helper";
  }
  if (end === RUNNING) {
    // late: it finishes on its own (helperReady() is false until then); what it writes to the
    // scratch buffer is not read, and nothing later shares that buffer with it
    scratch = null;
    return "late";
  }
  // failed: never use this helper again
  h.broken = true;
  void h.worker.terminate();
  if (helper === h) helper = null;
  return "late";
}

/** Scratch buffers at most this large are kept for the next call (larger ones are allocated each time). */
const SCRATCH_KEEP_BYTES = 1 << 24;
let scratch: SharedArrayBuffer | null = null;

/**
 * n doubles in shared memory for a task's inputs or outputs (zeroed: no, whatever the last call left),
 * reused from call to call up to 16 MB (allocating a SharedArrayBuffer costs microseconds, as much as
 * the hand-off itself): valid until the next call of this function, so the caller copies the helper's
 * results out before it returns. `from` views start after the first `from` doubles (two regions).
 */
export function helperScratch(n: number, from = 0): Float64Array {
  const bytes = 8 * (from + n);
  if (bytes > SCRATCH_KEEP_BYTES) return new Float64Array(new SharedArrayBuffer(8 * n));
  if (!scratch || scratch.byteLength < bytes)
    scratch = new SharedArrayBuffer(
      Math.min(SCRATCH_KEEP_BYTES, Math.max(bytes, 2 * (scratch?.byteLength ?? 0))),
    );
  return new Float64Array(scratch, 8 * from, n);
}

/** Stop the helper (closePool calls this). */
export async function closeHelper(): Promise<void> {
  const h = helper;
  helper = null;
  if (h) {
    h.port.close();
    await h.worker.terminate();
  }
}

/**
 * One helper thread for synchronous data-parallel kernels (batch prediction, where the API returns a
 * value, not a promise): the caller posts the helper its share of the rows, computes its own share,
 * then blocks (Atomics.wait) until the helper is done. Inputs and outputs the helper writes live in
 * SharedArrayBuffers. The helper starts on first use and is used from the next call on (until it has
 * loaded, callers do all the work themselves); it is unref'd, so it never keeps the process alive.
 * Inside a pool worker (a search running folds on every core) there is no helper.
 */
import { Worker } from "node:worker_threads";
import type { Task } from "./worker.ts";

/** ctl slots: READY (1 once the helper listens), STATE (0 idle, 1 running, 2 done, 3 failed). */
const READY = 0;
const STATE = 1;
const RUNNING = 1;
const DONE = 2;

interface Helper {
  worker: Worker;
  ctl: Int32Array;
  broken: boolean;
}

let helper: Helper | null = null;

function start(): void {
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(new URL("./helper-worker.ts", import.meta.url), {
    workerData: { ctl },
    // a helper thread runs tasks inline, as a pool worker does (inWorker)
    env: { ...process.env, NETSEC_IN_WORKER: "1" },
  });
  worker.unref();
  const h: Helper = { worker, ctl, broken: false };
  worker.on("error", () => {
    h.broken = true;
  });
  worker.on("exit", () => {
    h.broken = true;
    if (helper === h) helper = null;
  });
  helper = h;
}

/** Whether a helper is up and idle now (starts one for later calls when there is none). */
export function helperReady(): boolean {
  if (process.env.NETSEC_IN_WORKER === "1") return false;
  if (!helper) {
    start();
    return false;
  }
  return (
    !helper.broken && Atomics.load(helper.ctl, READY) === 1 && Atomics.load(helper.ctl, STATE) !== RUNNING
  );
}

/**
 * Run `task` on the helper while `mine()` runs here; returns whether the helper completed it (when it
 * did not, the caller must do the task's share itself). Call only after helperReady() returned true.
 */
export function runWithHelper(task: Task, mine: () => void, timeoutMs = 120_000): boolean {
  const h = helper;
  if (!h || h.broken) {
    mine();
    return false;
  }
  Atomics.store(h.ctl, STATE, RUNNING);
  h.worker.postMessage(task);
  mine();
  const deadline = Date.now() + timeoutMs;
  while (Atomics.load(h.ctl, STATE) === RUNNING) {
    const left = deadline - Date.now();
    if (left <= 0 || Atomics.wait(h.ctl, STATE, RUNNING, left) === "timed-out") break;
  }
  if (Atomics.load(h.ctl, STATE) === DONE) {
    Atomics.store(h.ctl, STATE, 0);
    return true;
  }
  // failed or hung: never use this helper again
  h.broken = true;
  void h.worker.terminate();
  if (helper === h) helper = null;
  return false;
}

/** Stop the helper (closePool calls this). */
export async function closeHelper(): Promise<void> {
  const h = helper;
  helper = null;
  if (h) await h.worker.terminate();
}

/**
 * The helper thread of helper.ts: loads the functions of the helper's tasks (tasks.ts, HELPER_TASKS),
 * says it is ready, then sleeps on the doorbell, takes the task sent as words in the control array
 * (runWithHelperWords) and every message waiting on its port (synchronously), runs each task it can
 * claim (called with the task's kept state; one the caller took back is skipped), then flags done or
 * failed in the shared control array and wakes the caller. After a task it spins briefly for the next
 * one (HELPER_SPIN_MS, or as long as the task asked) before it sleeps again.
 */
import { type MessagePort, receiveMessageOnPort, workerData } from "node:worker_threads";
import {
  BELL,
  CLAIM,
  DONE,
  FAILED,
  HELPER_SPIN_MS,
  type HelperMessage,
  READY,
  STATE,
  WORDS_ARGS,
  WORDS_SPIN_US,
  WORDS_STATE,
  wordsTaskOf,
} from "./helper.ts";
import { kept as states } from "./helper-kept.ts";
import { HELPER_TASKS, type HelperTaskName } from "./tasks.ts";
import { taskFunction } from "./worker.ts";

const { ctl, port } = workerData as { ctl: Int32Array; port: MessagePort };
type Fn = Awaited<ReturnType<typeof taskFunction>>;
const fns = new Map<HelperTaskName, Fn>();
/** How long to spin for a next task: what the last task asked for, else HELPER_SPIN_MS. */
let spinMs = HELPER_SPIN_MS;

async function handle(m: HelperMessage): Promise<void> {
  if (m.kind === "drop") {
    states.delete(m.stateId);
    return;
  }
  spinMs = m.spinMs ?? HELPER_SPIN_MS;
  // (a state sent with a task the caller took back is kept all the same: the caller counts it sent)
  if (m.state) states.set(m.stateId, m.state);
  if (Atomics.compareExchange(ctl, CLAIM, m.token, 0) !== m.token) return;
  try {
    const f = fns.get(m.task.name);
    if (!f) throw new Error(`${m.task.name} is not a helper task`);
    const r = f(m.task.args, m.stateId ? states.get(m.stateId) : undefined);
    if (r instanceof Promise) await r;
    Atomics.store(ctl, STATE, DONE);
  } catch {
    Atomics.store(ctl, STATE, FAILED);
  }
  Atomics.notify(ctl, STATE);
}

/**
 * The task sent as words (runWithHelperWords), if one is waiting and this thread claims it: run with
 * its words and kept state.
 */
async function handleWords(): Promise<void> {
  const token = Atomics.load(ctl, CLAIM);
  const t = wordsTaskOf(token);
  if (t < 0 || Atomics.compareExchange(ctl, CLAIM, token, 0) !== token) return;
  spinMs = ctl[WORDS_SPIN_US]! / 1000;
  const stateId = ctl[WORDS_STATE]!;
  // its state came with a message whose task the caller took back before this thread read it
  if (!states.has(stateId)) await readPort();
  try {
    const name = HELPER_TASKS[t]!;
    const f = fns.get(name);
    if (!f) throw new Error(`${name} is not a helper task`);
    const r = f(ctl.subarray(WORDS_ARGS), states.get(stateId));
    if (r instanceof Promise) await r;
    Atomics.store(ctl, STATE, DONE);
  } catch {
    Atomics.store(ctl, STATE, FAILED);
  }
  Atomics.notify(ctl, STATE);
}

/** Every message waiting on the port, in order (a task in one is run if this thread can claim it). */
async function readPort(): Promise<void> {
  for (let r = receiveMessageOnPort(port); r; r = receiveMessageOnPort(port))
    await handle(r.message as HelperMessage);
}

async function main(): Promise<void> {
  for (const name of HELPER_TASKS) fns.set(name, await taskFunction(name));
  let seen = Atomics.load(ctl, BELL);
  Atomics.store(ctl, READY, 1);
  for (;;) {
    const spinUntil = performance.now() + spinMs;
    while (Atomics.load(ctl, BELL) === seen && performance.now() < spinUntil) Atomics.pause();
    if (Atomics.load(ctl, BELL) === seen) Atomics.wait(ctl, BELL, seen);
    seen = Atomics.load(ctl, BELL);
    await handleWords();
    await readPort();
  }
}

void main();

/**
 * The helper thread of helper.ts: sleeps on the doorbell, reads every message waiting on its port
 * (synchronously), runs each task (a function of a module under src/, as pool workers do, called with
 * the task's kept state), then flags done or failed in the shared control array and wakes the caller.
 * After a task it spins briefly for the next one before it sleeps again.
 */
import { type MessagePort, receiveMessageOnPort, workerData } from "node:worker_threads";
import { BELL, DONE, FAILED, HELPER_SPIN_MS, type HelperMessage, READY, STATE } from "./helper.ts";
import { kept as states } from "./helper-kept.ts";
import { taskFunction } from "./worker.ts";

const { ctl, port } = workerData as { ctl: Int32Array; port: MessagePort };
type Fn = (args: unknown, state?: object) => unknown;
const fns = new Map<string, Fn>();

async function handle(m: HelperMessage): Promise<void> {
  if (m.kind === "drop") {
    states.delete(m.stateId);
    return;
  }
  try {
    if (m.state) states.set(m.stateId, m.state);
    const key = `${m.task.module}#${m.task.fn}`;
    let f = fns.get(key);
    if (!f) {
      f = (await taskFunction(m.task)) as Fn;
      fns.set(key, f);
    }
    const r = f(m.task.args, m.stateId ? states.get(m.stateId) : undefined);
    if (r instanceof Promise) await r;
    Atomics.store(ctl, STATE, DONE);
  } catch {
    Atomics.store(ctl, STATE, FAILED);
  }
  Atomics.notify(ctl, STATE);
}

async function main(): Promise<void> {
  let seen = Atomics.load(ctl, BELL);
  Atomics.store(ctl, READY, 1);
  for (;;) {
    const spinUntil = performance.now() + HELPER_SPIN_MS;
    while (Atomics.load(ctl, BELL) === seen && performance.now() < spinUntil) Atomics.pause();
    if (Atomics.load(ctl, BELL) === seen) Atomics.wait(ctl, BELL, seen);
    seen = Atomics.load(ctl, BELL);
    for (let r = receiveMessageOnPort(port); r; r = receiveMessageOnPort(port))
      await handle(r.message as HelperMessage);
  }
}

void main();

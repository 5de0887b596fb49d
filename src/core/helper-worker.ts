/**
 * The helper thread of helper.ts: runs each posted task (a function of a module under src/, as pool
 * workers do), then flags done or failed in the shared control array and wakes the waiting caller.
 */
import { parentPort, workerData } from "node:worker_threads";
import run, { type Task } from "./worker.ts";

const ctl = (workerData as { ctl: Int32Array }).ctl;
const STATE = 1;
const DONE = 2;
const FAILED = 3;

parentPort!.on("message", (task: Task) => {
  run(task).then(
    () => {
      Atomics.store(ctl, STATE, DONE);
      Atomics.notify(ctl, STATE);
    },
    () => {
      Atomics.store(ctl, STATE, FAILED);
      Atomics.notify(ctl, STATE);
    },
  );
});
Atomics.store(ctl, 0, 1);

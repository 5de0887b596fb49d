/**
 * The one worker-thread entry: runs `fn(args)` exported by a module under src/ (never a path from
 * outside the project's source tree), so parallel work is plain functions, as the main thread would
 * call them. Code running here must not start workers of its own: `inWorker()` tells it — the pool and
 * the helper thread start their threads with NETSEC_IN_WORKER=1 in the environment (this module is
 * also imported by the main thread to run tasks inline, where it must not mark the process).
 */
import { isAbsolute, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const SRC = resolve(fileURLToPath(new URL("..", import.meta.url)));

export interface Task {
  /** Module path relative to src/, e.g. "models/tree/forest-task.ts". */
  module: string;
  fn: string;
  args: unknown;
}

/** The function a task names (its module checked to be under src/), imported. */
export async function taskFunction(task: Task): Promise<(a: unknown, state?: object) => unknown> {
  const abs = resolve(SRC, task.module);
  const rel = relative(SRC, abs);
  if (rel.startsWith("..") || isAbsolute(rel) || !/\.ts$/.test(abs)) {
    throw new Error(`worker task module ${JSON.stringify(task.module)} is not under src/`);
  }
  const mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  const f = mod[task.fn];
  if (typeof f !== "function") throw new Error(`worker task: ${task.module} has no function ${task.fn}`);
  return f as (a: unknown, state?: object) => unknown;
}

export default async function run(task: Task): Promise<unknown> {
  return await (await taskFunction(task))(task.args);
}

/**
 * The one worker-thread entry: runs a task registered in tasks.ts (its function, imported from its
 * module under src/), so parallel work is plain functions, as the main thread would call them. Code
 * running here must not start workers of its own: `inWorker()` tells it — the pool and the helper
 * thread start their threads with NETSEC_IN_WORKER=1 in the environment (this module is also imported
 * by the main thread to run tasks inline, where it must not mark the process).
 */
import { TASK_MODULES, type Task, type TaskName } from "./tasks.ts";

type TaskFunction = (a: unknown, state?: object) => unknown;

/** The function registered under `name`, imported (an unregistered name throws). */
export async function taskFunction(name: TaskName): Promise<TaskFunction> {
  // a name from a message: checked against the table, not trusted to be a key of it
  const entry = Object.hasOwn(TASK_MODULES, name) ? TASK_MODULES[name] : undefined;
  if (!entry) throw new Error(`worker task ${JSON.stringify(name)} is not registered in core/tasks.ts`);
  const [module, fn] = entry;
  const mod = (await import(new URL(`../${module}`, import.meta.url).href)) as Record<string, unknown>;
  const f = mod[fn];
  if (typeof f !== "function") throw new Error(`worker task ${name}: ${module} has no function ${fn}`);
  return f as TaskFunction;
}

export default async function run(task: Task): Promise<unknown> {
  return await (await taskFunction(task.name))(task.args);
}

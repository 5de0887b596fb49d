/**
 * The task registry (core/tasks.ts): every name leads to a function its module exports, and the helper
 * thread's tasks are registered names.
 */
import { describe, expect, it } from "vitest";
import { HELPER_TASKS, TASK_MODULES, type TaskName } from "../../src/core/tasks.ts";
import { taskFunction } from "../../src/core/worker.ts";

describe("the worker task registry", () => {
  it("each name's module exports its function", async () => {
    const names = Object.keys(TASK_MODULES) as TaskName[];
    expect(names.length).toBeGreaterThanOrEqual(10);
    for (const name of names) {
      const [module, fn] = TASK_MODULES[name];
      const mod = (await import(`../../src/${module}`)) as Record<string, unknown>;
      expect(typeof mod[fn], `${name}: ${module} exports ${fn}`).toBe("function");
      expect(await taskFunction(name)).toBe(mod[fn]);
    }
  });

  it("the helper's tasks are registered, once each", () => {
    expect(new Set(HELPER_TASKS).size).toBe(HELPER_TASKS.length);
    for (const name of HELPER_TASKS) expect(Object.hasOwn(TASK_MODULES, name)).toBe(true);
  });
});

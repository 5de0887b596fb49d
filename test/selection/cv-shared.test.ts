/**
 * The search's training matrix is binned once and shared: the pool tasks carry references to the same
 * SharedArrayBuffers (never a copy per worker or per fold), and a fold's fit on the bins allocates no
 * matrix of the fold's rows (predictions decode a bounded chunk of rows at a time). Every Matrix is
 * made by allocMatrix: the spy below sees each one's size.
 */
import { afterAll, describe, expect, it, vi } from "vitest";
import { allocMatrix } from "../../src/core/frame.ts";
import { closePool } from "../../src/core/pool.ts";
import { Rng } from "../../src/core/rng.ts";
import { type BinnedMatrix, binnedMatrix, DECODE_CHUNK_ROWS } from "../../src/models/tree/binned-matrix.ts";
import { type CvTaskArgs, runCvTask } from "../../src/selection/cv-task.ts";
import { stratifiedKFold } from "../../src/selection/kfold.ts";
import { cvTasks, planSearch } from "../../src/selection/search.ts";

vi.mock("../../src/core/frame.ts", async (importOriginal) => {
  const m = await importOriginal<typeof import("../../src/core/frame.ts")>();
  return { ...m, allocMatrix: vi.fn(m.allocMatrix) };
});

afterAll(() => closePool());

function data(n: number, seed: number): { B: BinnedMatrix; y: Int32Array } {
  const rng = new Rng(seed);
  const X = allocMatrix(n, 3, ["a", "b", "c"]);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.next() < 0.4 ? 1 : 0;
    X.data[i] = y[i]! + rng.normal();
    X.data[n + i] = Math.floor(rng.next() * 9) + y[i]!;
    X.data[2 * n + i] = rng.normal();
  }
  return { B: binnedMatrix(X), y };
}

/** Every typed array in a task's args, with where it sits. */
function typedArrays(v: unknown, path: string, out: { path: string; a: ArrayBufferView }[]): void {
  if (ArrayBuffer.isView(v)) out.push({ path, a: v });
  else if (Array.isArray(v)) for (const [i, x] of v.entries()) typedArrays(x, `${path}[${i}]`, out);
  else if (v && typeof v === "object")
    for (const [k, x] of Object.entries(v)) typedArrays(x, `${path}.${k}`, out);
}

describe("the search's pool tasks", () => {
  it("hold the bins, raw columns, labels and folds on SharedArrayBuffers, the same ones in every task", () => {
    const { B, y } = data(3_000, 1);
    const folds = stratifiedKFold(y, 3, 7);
    const plan = planSearch([
      { model: "random_forest", params: { n_estimators: 4 } },
      { model: "decision_tree", params: {} },
    ]);
    const tasks = cvTasks(B, y, 2, [1], plan, folds, { scoring: "f1", targetFpr: 0.01 });
    expect(tasks).toHaveLength(2 * 3);
    const perTask = tasks.map((t) => {
      const found: { path: string; a: ArrayBufferView }[] = [];
      typedArrays(t.args, "args", found);
      return found;
    });
    for (const found of perTask) {
      // what a worker would receive by copy: only small arrays (thresholds, the raw columns' index)
      const copied = found.filter((f) => !(f.a.buffer instanceof SharedArrayBuffer));
      for (const f of copied) expect(f.a.byteLength, `${f.path} is copied`).toBeLessThanOrEqual(2_048);
      const bytes = (p: string) => found.find((f) => f.path === p)!.a;
      expect(bytes("args.X.bins").buffer).toBe(B.bins.buffer);
      expect(bytes("args.X.raw.data").buffer).toBe(B.raw!.data.buffer);
      expect(bytes("args.y").buffer).toBe(perTask[0]!.find((f) => f.path === "args.y")!.a.buffer);
    }
    // a fold's row lists are made shared once: the tasks of both fits point at the same ones
    for (let fi = 0; fi < 3; fi++) {
      const a = tasks[fi]!.args as CvTaskArgs;
      const b = tasks[3 + fi]!.args as CvTaskArgs;
      expect(b.train.buffer).toBe(a.train.buffer);
      expect(b.test.buffer).toBe(a.test.buffer);
      expect(Array.from(a.test)).toEqual(Array.from(folds[fi]!.test));
    }
  });
});

describe("a fold's task", () => {
  const n = 2 * DECODE_CHUNK_ROWS + 5_000;

  async function largestMatrix(model: string, params: Record<string, unknown>): Promise<number> {
    const { B, y } = data(n, 2);
    const [fold] = stratifiedKFold(y, 3, 3);
    const alloc = vi.mocked(allocMatrix);
    alloc.mockClear();
    await runCvTask({
      X: B,
      y,
      nClasses: 2,
      threatClasses: [1],
      train: fold!.train,
      test: fold!.test,
      model,
      params,
      scoring: "f1",
      targetFpr: 0.01,
      ...(model === "random_forest" ? { stages: [1, 2] } : {}),
    });
    return Math.max(0, ...alloc.mock.calls.map(([rows]) => rows));
  }

  it("fits a tree learner on the shared bins: no matrix of the fold's rows, predictions in chunks", async () => {
    expect(await largestMatrix("random_forest", { n_estimators: 2 })).toBeLessThanOrEqual(DECODE_CHUNK_ROWS);
    expect(await largestMatrix("decision_tree", { max_depth: 3 })).toBeLessThanOrEqual(DECODE_CHUNK_ROWS);
  });

  it("decodes the fold's rows for a model that needs float64 input (the spy sees that matrix)", async () => {
    expect(await largestMatrix("logistic_regression", {})).toBeGreaterThan(DECODE_CHUNK_ROWS);
  });
});

/**
 * Scoring on a worker thread (src/serve/scoring.ts): the worker loads the bundle from its directory
 * once (a few kept, most recent first) and returns the scores of a batch; labels are made on the
 * calling thread from the caller's own predictor (BundlePredictor.fromScores), so both threads use
 * the same model and threshold. A bundle is known by its directory and its manifest's run id, so a
 * directory written again is loaded again.
 */
import { type Column, Frame } from "../core/frame.ts";
import { BundlePredictor } from "./bundle.ts";
import type { Scores } from "./predictor.ts";

const KEEP = 2;
const loaded = new Map<string, BundlePredictor>();

export function predictorFor(dir: string, runId: string): BundlePredictor {
  const key = `${dir}\u0000${runId}`;
  let p = loaded.get(key);
  if (p) {
    loaded.delete(key);
  } else {
    p = new BundlePredictor(dir);
    if (p.manifest.run_id !== runId) {
      throw new Error(`bundle ${dir} holds run ${p.manifest.run_id}, not ${runId}: it was replaced`);
    }
  }
  loaded.set(key, p);
  while (loaded.size > KEEP) loaded.delete(loaded.keys().next().value!);
  return p;
}

export interface ScoreArgs {
  dir: string;
  runId: string;
  columns: Column[];
  nRows: number;
}

/** The scores of a batch (the frame's columns, structured-cloned to this thread). */
export function scoreBatch(a: ScoreArgs): Scores {
  return predictorFor(a.dir, a.runId).scores(new Frame(a.columns, a.nRows));
}

/** Load the bundle now (the warm-up after a model swap), so the first batch does not wait for it. */
export function loadBundle(a: { dir: string; runId: string }): null {
  predictorFor(a.dir, a.runId);
  return null;
}

declare module "../core/tasks.ts" {
  interface TaskFns {
    "bundle.load": typeof loadBundle;
    "bundle.score": typeof scoreBatch;
  }
}

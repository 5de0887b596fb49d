/**
 * Monitoring's share of a server's CPU from V8 CPU profiles (`node --cpu-prof`, one file per thread:
 * the event loop and each scoring thread): the time of the samples whose stack holds a frame of
 * src/monitor/ or src/serve/monitoring.ts, over the time of every sample that is not idle, counted
 * from each thread's first sample inside a scoring route (so start-up and model loading are left
 * out). A ratio within one process, so the machine's other jobs move it far less than they move a
 * difference of throughput between two servers. Garbage collection is counted in the whole (its
 * samples have no stack to attribute) and sampling favours no code, but functions of a few
 * microseconds are over-weighted by the profiler's own cost a little: an estimate, not a measure.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

const ProfileSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }),
      children: z.array(z.number()).optional(),
    }),
  ),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});

/** Frames of monitoring's code. */
const MONITOR = /\/src\/monitor\/|\/src\/serve\/monitoring\.ts$/;
/**
 * Frames of the scoring work (the records route's parsing on the event loop, an upload's reading, the
 * CSV work on a scoring thread); a function's frame, not the module's top level (line 0), which runs
 * at start-up.
 */
const SCORING = /\/src\/serve\/(records|csv-upload|score-csv)\.ts$/;
const IDLE = new Set(["(idle)", "(program)"]);

export interface MonitorShare {
  /** ms of samples in monitoring's code */
  monitorMs: number;
  /** ms of every non-idle sample from the first scoring one on */
  busyMs: number;
  share: number;
}

/** Monitoring's share over every .cpuprofile in `dir`. */
export function monitorShare(dir: string): MonitorShare {
  let monitorMs = 0;
  let busyMs = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith(".cpuprofile"))) {
    const p = ProfileSchema.parse(JSON.parse(readFileSync(join(dir, f), "utf8")));
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    // per node: [in monitoring's code, in scoring's code] along its stack (memoised)
    const kinds = new Map<number, [boolean, boolean]>();
    const kindOf = (id: number): [boolean, boolean] => {
      const k = kinds.get(id);
      if (k) return k;
      const { url, lineNumber } = byId.get(id)!.callFrame;
      const up = parent.has(id) ? kindOf(parent.get(id)!) : ([false, false] as [boolean, boolean]);
      const mine: [boolean, boolean] = [
        up[0] || MONITOR.test(url),
        up[1] || (lineNumber > 0 && SCORING.test(url)),
      ];
      kinds.set(id, mine);
      return mine;
    };
    let started = false;
    for (let i = 0; i < p.samples.length; i++) {
      const id = p.samples[i]!;
      const [inMonitor, inScoring] = kindOf(id);
      started ||= inScoring;
      if (!started) continue;
      // each sample weighs the interval before it (the sampling period, longer when the thread waited)
      const ms = (p.timeDeltas[i] ?? 0) / 1000;
      if (IDLE.has(byId.get(id)!.callFrame.functionName)) continue;
      busyMs += ms;
      if (inMonitor) monitorMs += ms;
    }
  }
  return { monitorMs, busyMs, share: busyMs > 0 ? monitorMs / busyMs : 0 };
}

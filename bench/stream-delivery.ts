/**
 * CPU of the delivery half of `netsec stream` per record, without a broker: paced scored batches go
 * through what run.ts does after scoring, apart from publishing and committing (no broker): each
 * batch's threats into the DuckDB alert store through the stream's write queue (held open, as
 * `--hold-store`), then the batch counted by the stream's monitoring (the offset ledger's claim and
 * the window counts). CPU of the process (every thread: DuckDB's too) and of this thread, per record,
 * over the paced seconds; the machine's load changes these less than wall times. And how long this
 * thread's event loop was held (`monitorEventLoopDelay`, 1-ms resolution: p99 and max over the paced
 * seconds) and the store writes' wall times (from the write queue's call to the write's resolve).
 *
 * The batches are the phishing records (JSON, as bench/stream.ts publishes them) scored once up front
 * by the phishing random forest (n_estimators 100, trained here into a fresh NETSEC_HOME), reused in
 * turn with fresh offsets (8 partitions), so each write and each claim is new.
 *
 * With `--root=DIR` (another checkout, e.g. main's, with its own node_modules) the modules are that
 * checkout's: run it alternately with this one for an A/B. A checkout whose WriteQueue has no spacing
 * option ignores it.
 *
 * Usage: npx node bench/stream-delivery.ts [--rate=10000] [--batch=100] [--seconds=5] [--root=DIR]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { trainPhishingForest } from "./phishing-forest.ts";

const HERE = resolve(import.meta.dirname, "..");
const arg = (name: string, dflt: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const RATE = Number(arg("rate", "10000"));
const BATCH = Number(arg("batch", "100"));
const SECONDS = Number(arg("seconds", "5"));
const ROOT = resolve(arg("root", HERE));
const MIRROR = process.env.NETSEC_DATASET_MIRROR ?? resolve(HERE, "../shared/datasets");

// biome-ignore lint/suspicious/noExplicitAny: modules of another checkout, typed as that checkout has them
const load = (p: string): Promise<any> => import(join(ROOT, p));
const { openAlertStore } = await load("src/store/alerts.ts");
const { WriteQueue } = await load("src/stream/write-queue.ts");
const { StreamMonitoring } = await load("src/stream/monitoring.ts");
const { scoreBatch } = await load("src/stream/score.ts");
const { decoder } = await load("src/stream/records.ts");
const { loadPredictor } = await load("src/bundle/bundle.ts");
const { ModelRegistry } = await load("src/bundle/registry.ts");
const { ModelHolder, registryModelSource } = await load("src/serve/model-holder.ts");
const { silentLogger } = await load("src/core/log.ts");
const { AlertSink } = await load("src/monitor/alerts.ts");

const work = mkdtempSync(join(tmpdir(), "netsec-bench-delivery-"));
const home = join(work, "home");
const env = { ...process.env, NETSEC_HOME: home, NETSEC_DATASET_MIRROR: MIRROR, NETSEC_STORE_URI: "" };
trainPhishingForest(home, env, HERE);
const holder = new ModelHolder(registryModelSource(new ModelRegistry(home), loadPredictor, {}), silentLogger);
await holder.refresh(true);
const model = holder.current();

const lines = readFileSync(join(MIRROR, "phishing", "phisingData.csv"), "utf8")
  .trim()
  .split(/\r?\n/);
const header = lines[0]!.replace(/"/g, "").split(",");
const decode = decoder("json", header);
interface Verdict {
  partition: number;
  threat: boolean;
  model: string;
  label: string;
  labelName: string;
  probability: number;
}
const scored: { verdicts: Verdict[]; scored: { frame: unknown; prediction: unknown } }[] = [];
for (let i = 1; i + BATCH <= lines.length && scored.length < 40; i += BATCH)
  scored.push(
    scoreBatch(
      lines.slice(i, i + BATCH).map((l, j) => ({
        topic: "flows",
        partition: j % 8,
        offset: BigInt(i + j),
        key: null,
        value: JSON.stringify(Object.fromEntries(l.split(",").map((v, k) => [header[k]!, v]))),
        timestamp: 0,
        ownership: 1,
      })),
      decode,
      model,
    ),
  );

const alerts = openAlertStore(`duckdb:${join(work, "store.duckdb")}`, { holdOpen: true });
// the spacing run.ts gives the store's queue (STORE_EVERY_MS); ignored by a checkout without it
const writeMs: number[] = [];
const store = new WriteQueue(
  async (a: unknown[]) => {
    const t = performance.now();
    const n = await alerts.write(a);
    writeMs.push(performance.now() - t);
    return n;
  },
  { everyMs: 100 },
);
const monitoring = new StreamMonitoring(home, {}, silentLogger, new AlertSink(silentLogger, null), {
  group: "bench",
});
monitoring.start();
// warm-up outside the measure: the store's first write opens it (and starts its thread), the first
// count loads the ledger (offsets far above the measured ones)
{
  const b = scored[0]!;
  const base = 2n ** 50n;
  const first = b.verdicts[0]!;
  await store.add([
    {
      ...first,
      topic: "flows",
      offset: base,
      recordKey: null,
      threat: true,
      scoredAt: new Date().toISOString(),
    },
  ]);
  monitoring.count(
    model,
    b.scored.frame,
    b.scored.prediction,
    "flows",
    b.verdicts.map((v, i) => ({ partition: v.partition, offset: base + BigInt(i) })),
  );
}

const everyMs = (BATCH / RATE) * 1000;
const load0 = loadavg()[0]!;
let sent = 0;
const delivered: Promise<unknown>[] = [];
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const thread0 = process.threadCpuUsage();
for (let k = 0; performance.now() - t0 < SECONDS * 1000; k++) {
  const due = t0 + k * everyMs;
  const now = performance.now();
  if (due > now) await new Promise((r) => setTimeout(r, due - now));
  const b = scored[k % scored.length]!;
  // fresh offsets: offset `sent + i` for row i, on its record's partition
  const base = BigInt(sent);
  const rows = b.verdicts.map((v, i) => ({ partition: v.partition, offset: base + BigInt(i) }));
  const scoredAt = new Date().toISOString();
  const kept = b.verdicts.flatMap((v, i) =>
    v.threat
      ? [
          {
            topic: "flows",
            partition: v.partition,
            offset: base + BigInt(i),
            recordKey: null,
            model: v.model,
            label: v.label,
            labelName: v.labelName,
            threat: true,
            probability: v.probability,
            scoredAt,
          },
        ]
      : [],
  );
  delivered.push(
    store.add(kept).then(() => monitoring.count(model, b.scored.frame, b.scored.prediction, "flows", rows)),
  );
  sent += b.verdicts.length;
}
await Promise.all(delivered);
const cpu = process.cpuUsage(cpu0);
const thread = process.threadCpuUsage(thread0);
const wall = (performance.now() - t0) / 1000;
loopDelay.disable();
await monitoring.stop();
await alerts.close();
rmSync(work, { recursive: true, force: true });
const us = (c: { user: number; system: number }) => ((c.user + c.system) / sent).toFixed(2);
const ms = (ns: number) => (ns / 1e6).toFixed(1);
writeMs.sort((a, b) => a - b);
const writeQ = (f: number) =>
  (writeMs[Math.min(writeMs.length - 1, Math.floor(f * writeMs.length))] ?? 0).toFixed(1);
console.log(
  `${ROOT}: ${Math.round(sent / wall)} records/s delivered in batches of ${BATCH} (${RATE} asked): process ${us(cpu)} µs CPU a record, main thread ${us(thread)} µs; event loop held p99 ${ms(loopDelay.percentile(99))} ms, max ${ms(loopDelay.max)} ms; ${writeMs.length} store writes, wall ms p50 ${writeQ(0.5)}, p99 ${writeQ(0.99)}, max ${writeQ(1)}; load ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`,
);

/**
 * The consumer's fetch decoding on a real broker, by the size one fetch response may carry
 * (`StreamConsumer`'s `fetchMaxBytes`; netsec stream uses FETCH_MAX_BYTES): a topic of 8 partitions
 * pre-filled with N phishing JSON records (as `bench/stream.ts` publishes them) is read from the start
 * by a fresh group, each size in turn, alternating, `--reps` times; the records are only counted (no
 * scoring). Per read, on this process's main thread (the one running the Kafka client):
 * - CPU µs a record (`process.threadCpuUsage`, from the first record to the last);
 * - the longest blocks of the event loop in the thread's own CPU time: the CPU used between two ticks
 *   of a 1-ms timer, which the machine's other work does not lengthen (a response is decoded and its
 *   records handed over in one synchronous pass);
 * - records/s (wall time: moves with the machine's load).
 *
 * Usage: KAFKA_BROKERS=127.0.0.1:9092 npx node bench/stream-fetch.ts [--records=200000] [--reps=3]
 * [--sizes=52428800,1048576] [--topic=NAME: read an existing topic instead of filling one]
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { ensureTopic, type OutMessage, StreamConsumer, StreamProducer } from "../src/stream/kafka.ts";

const ROOT = resolve(import.meta.dirname, "..");
const brokers = process.env.KAFKA_BROKERS;
if (!brokers) throw new Error("set KAFKA_BROKERS (scripts/test-services start kafka prints it)");
const arg = (name: string, dflt: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const N = Number(arg("records", "200000"));
const REPS = Number(arg("reps", "3"));
/** 50 MiB: the client's default (`@platformatic/kafka` 2.12). */
const SIZES = arg("sizes", `${50 * 1024 * 1024},${1024 * 1024}`)
  .split(",")
  .map(Number);
const MIRROR = process.env.NETSEC_DATASET_MIRROR ?? resolve(ROOT, "../shared/datasets");
const run = `fetch-${Date.now().toString(36)}`;

const lines = readFileSync(join(MIRROR, "phishing", "phisingData.csv"), "utf8")
  .trim()
  .split(/\r?\n/);
const header = lines[0]!.replace(/"/g, "").split(",");
const records = lines
  .slice(1)
  .map((l) => JSON.stringify(Object.fromEntries(l.split(",").map((v, i) => [header[i]!, v]))));

const topic = arg("topic", "") || run;
if (topic === run) {
  await ensureTopic([brokers], topic, 8);
  const p = new StreamProducer([brokers], "netsec-bench-fetch");
  for (let i = 0; i < N; i += 10_000) {
    const batch: OutMessage[] = [];
    for (let j = i; j < Math.min(N, i + 10_000); j++)
      batch.push({ topic, key: String(j), value: records[j % records.length]! });
    await p.send(batch);
  }
  await p.close();
}

interface Read {
  cpuUsPerRecord: number;
  /** The three longest blocks, thread CPU ms. */
  longestMs: number[];
  recordsPerSecond: number;
}

const cpuUs = (u: NodeJS.CpuUsage) => u.user + u.system;

async function readAll(maxBytes: number, k: number): Promise<Read> {
  const c = new StreamConsumer({
    brokers: [brokers!],
    group: `${run}-${k}`,
    topic,
    clientId: "netsec-bench-fetch",
    fetchMaxBytes: maxBytes,
  });
  let n = 0;
  let t0 = 0;
  let cpu0 = process.threadCpuUsage();
  let allRead!: () => void;
  const done = new Promise<void>((r) => {
    allRead = r;
  });
  const blocks: number[] = [];
  let last = process.threadCpuUsage();
  const ticker = setInterval(() => {
    const now = process.threadCpuUsage();
    if (n > 0) blocks.push((cpuUs(now) - cpuUs(last)) / 1000);
    last = now;
  }, 1);
  await c.start(
    () => {
      if (n === 0) {
        t0 = performance.now();
        cpu0 = process.threadCpuUsage();
      }
      if (++n === N) allRead();
    },
    () => {},
  );
  await done;
  const wall = performance.now() - t0;
  const cpu = cpuUs(process.threadCpuUsage(cpu0));
  clearInterval(ticker);
  await c.close();
  blocks.sort((a, b) => b - a);
  return { cpuUsPerRecord: cpu / N, longestMs: blocks.slice(0, 3), recordsPerSecond: (N / wall) * 1000 };
}

const loadBefore = loadavg()[0]!;
const reads = new Map<number, Read[]>(SIZES.map((s) => [s, []]));
for (let rep = 0; rep < REPS; rep++)
  for (const [i, size] of SIZES.entries()) reads.get(size)!.push(await readAll(size, rep * SIZES.length + i));

const list = (xs: number[], digits: number) => xs.map((x) => x.toFixed(digits)).join("; ");
console.log(`Fetch size, ${N.toLocaleString("en-US")} records on 8 partitions, ${REPS} reads each, alternating; load average (1 min) ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after.

| fetch response at most | main thread CPU µs a record | longest blocks, thread CPU ms (per read: three longest) | records/s |
|---|---|---|---|
${[...reads]
  .map(
    ([size, rs]) =>
      `| ${(size / 1024).toLocaleString("en-US")} KiB | ${list(
        rs.map((r) => r.cpuUsPerRecord),
        2,
      )} | ${rs.map((r) => list(r.longestMs, 1)).join(" · ")} | ${list(
        rs.map((r) => Math.round(r.recordsPerSecond)),
        0,
      )} |`,
  )
  .join("\n")}`);
process.exit(0);

/**
 * `netsec produce` and `netsec stream` against a real Kafka 4 broker (KRaft, started by the global
 * set-up) with a real champion (random forest on phishing): two consumer processes in one group
 * sharing one DuckDB store file.
 *
 * N is the phishing file's 11,055 records (the 100,000 run in bench/stream.ts: at this
 * machine's rate they would take the test minutes); the kill -9 and broker-restart tests replay its
 * first 3,000 (small batches, so that the outage falls mid-stream). Completion is read from the alerts topic (every
 * record's verdict, --all) with a consumer of our own; the store is checked once the members stopped.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelRegistry } from "../../src/bundle/registry.ts";
import { openDuckDb } from "../../src/store/duckdb/connection.ts";
import { ensureTopic, GroupProgress, StreamConsumer, StreamProducer } from "../../src/stream/kafka.ts";
import { runCli, trainQuickForest } from "../helpers/cli.ts";
import { MIRROR, PHISHING_CSV, ROOT, tempDir } from "../helpers/env.ts";

const brokers = process.env.NETSEC_TEST_KAFKA_BROKERS;
if (!brokers)
  throw new Error("NETSEC_TEST_KAFKA_BROKERS is not set: the integration global set-up starts Kafka");
const N = 11_055;
const tmp = tempDir();
const run = Date.now().toString(36);
const env = { NETSEC_HOME: join(tmp.dir, "home"), NETSEC_STORE_URI: "" };
const storeFile = join(tmp.dir, "home", "store.duckdb");
let predictThreats = 0;
/** The first SMALL_N rows of the phishing file: the outage tests' replay, and netsec predict's threats on it. */
const SMALL_N = 3000;
const smallCsv = join(tmp.dir, "small.csv");
let smallThreats = 0;
const live = new Set<ChildProcess>();

afterAll(() => {
  for (const c of live) c.kill("SIGKILL");
  tmp.cleanup();
});

beforeAll(() => {
  const t = trainQuickForest(env);
  expect(t.code, t.stderr).toBe(0);
  const p = runCli(
    ["predict", "--model", "champion", "--input", PHISHING_CSV, "--output", join(tmp.dir, "p.csv"), "--json"],
    env,
  );
  expect(p.code, p.stderr).toBe(0);
  predictThreats = p.json!.threats as number;
  writeFileSync(
    smallCsv,
    `${readFileSync(PHISHING_CSV, "utf8")
      .trim()
      .split(/\r?\n/)
      .slice(0, SMALL_N + 1)
      .join("\n")}\n`,
  );
  const q = runCli(
    ["predict", "--model", "champion", "--input", smallCsv, "--output", join(tmp.dir, "q.csv"), "--json"],
    env,
  );
  expect(q.code, q.stderr).toBe(0);
  smallThreats = q.json!.threats as number;
}, 300_000);

interface Member {
  proc: ChildProcess;
  stderr(): string;
  /** Resolves once the member joined the group and consumes. */
  joined: Promise<void>;
  /** Resolves with the exit code (null when killed) and the --json summary. */
  exit: Promise<{ code: number | null; summary: Record<string, number> | null }>;
  /** Records the member has handled so far (its /metrics). */
  handled(): Promise<number>;
  /** Its GET /metrics text. */
  metrics(): Promise<string>;
}

function member(args: string[]): Member {
  const proc = spawn(
    process.execPath,
    [
      join(ROOT, "src/cli/main.ts"),
      "stream",
      "--brokers",
      brokers!,
      "--json",
      "--session-timeout-ms",
      "6000",
      "--metrics-port",
      "0",
      ...args,
    ],
    { cwd: ROOT, env: { ...process.env, NETSEC_DATASET_MIRROR: MIRROR, NETSEC_LOG_LEVEL: "warn", ...env } },
  );
  live.add(proc);
  let err = "";
  let out = "";
  let onJoin: () => void = () => {};
  const joined = new Promise<void>((resolve) => {
    onJoin = resolve;
  });
  let onPort: (port: number) => void = () => {};
  const port = new Promise<number>((resolve) => {
    onPort = resolve;
  });
  proc.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
    const m = /metrics on http:\/\/[^:]+:(\d+)\/metrics/.exec(err);
    if (m) onPort(Number(m[1]));
    if (/consuming .* in group/.test(err)) onJoin();
  });
  proc.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exit = new Promise<{ code: number | null; summary: Record<string, number> | null }>((resolve) => {
    proc.on("close", (code) => {
      live.delete(proc);
      let summary: Record<string, number> | null = null;
      try {
        summary = JSON.parse(out.trim().split("\n").at(-1) ?? "");
      } catch {}
      resolve({ code, summary });
    });
  });
  const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${await port}/metrics`)).text();
  const handled = async (): Promise<number> => {
    const text = await metrics();
    let n = 0;
    for (const m of text.matchAll(/^netsec_stream_records_total\{[^}]*\} (\d+)/gm)) n += Number(m[1]);
    return n;
  };
  return { proc, stderr: () => err, joined, exit, handled, metrics };
}

/** Read `topic` from the start until `until` says enough (or the time is up); returns what was read. */
async function readTopic(
  topic: string,
  until: (values: Map<string, string>) => boolean,
  timeoutMs = 120_000,
  /** Filled with each message's partition, by key. */
  partitions?: Map<string, number>,
): Promise<Map<string, string>> {
  const got = new Map<string, string>();
  const c = new StreamConsumer({
    brokers: [brokers!],
    group: `check-${topic}-${Math.random().toString(36).slice(2)}`,
    topic,
    clientId: "netsec-test-reader",
  });
  const deadline = Date.now() + timeoutMs;
  // right after a broker restart its group coordinator is still loading ("not the correct
  // coordinator", "loading"): the client gives up after 4 quick tries, so join again until it answers
  for (;;) {
    try {
      await c.start(
        (r) => {
          got.set(r.key ?? `${r.partition}/${r.offset}`, r.value);
          partitions?.set(r.key ?? `${r.partition}/${r.offset}`, r.partition);
        },
        () => {},
      );
      break;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  while (!until(got) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  await c.close();
  return got;
}

async function storeRows(): Promise<{ key: string; n: number; threat: boolean; model: string }[]> {
  const db = await openDuckDb({ path: storeFile, readOnly: true });
  try {
    const r = await db.connection.runAndReadAll(
      `SELECT topic || '/' || "partition" || '/' || "offset" AS key, count(*) OVER (PARTITION BY topic, "partition", "offset") AS n, threat, model FROM stream_alerts`,
    );
    return (r.getRowObjects() as { key: string; n: bigint; threat: boolean; model: string }[]).map((x) => ({
      ...x,
      n: Number(x.n),
    }));
  } finally {
    db.close();
  }
}

/** The first SMALL_N phishing rows published as `netsec produce` publishes them (JSON, cells as text). */
async function publishSmall(topic: string): Promise<void> {
  const lines = readFileSync(smallCsv, "utf8").trim().split(/\r?\n/);
  const header = lines[0]!.replace(/"/g, "").split(",");
  const p = new StreamProducer([brokers!], "netsec-test");
  await p.send(
    lines.slice(1).map((l) => ({
      topic,
      value: JSON.stringify(Object.fromEntries(l.split(",").map((v, i) => [header[i]!, v]))),
    })),
  );
  await p.close();
}

/** Poll until `f` says yes (every 20 ms, at most `ms`). */
async function until(f: () => Promise<boolean>, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

function produce(topic: string, file = PHISHING_CSV, n = N): void {
  const r = runCli(
    ["produce", "--brokers", brokers!, "--topic", topic, "--file", file, "--partitions", "4", "--json"],
    env,
  );
  expect(r.code, r.stderr).toBe(0);
  expect(r.json).toMatchObject({ records: n });
}

describe("netsec stream on a real Kafka broker", { timeout: 300_000 }, () => {
  it("two members of one group give every record exactly one verdict; threats equal netsec predict", async () => {
    const topic = `flows-${run}-a`;
    const alerts = `alerts-${run}-a`;
    const args = ["--topic", topic, "--group", `g-${run}-a`, "--alerts-topic", alerts, "--all"];
    // the topic first, so that both members are assigned partitions of it when they join; the
    // alerts topic with 3 partitions, to see where each verdict goes
    await ensureTopic([brokers!], topic, 4);
    await ensureTopic([brokers!], alerts, 3);
    const a = member(args);
    const b = member(args);
    await Promise.all([a.joined, b.joined]);
    produce(topic);
    // a stalls past the session timeout mid-stream (as a starved process on a loaded machine): the
    // group gives its partitions to b, which scores again what a had not committed, and a's client,
    // back, rejoins and retries its commit. Store and monitoring must still count each record once
    await until(async () => (await a.handled()) > 0);
    a.proc.kill("SIGSTOP");
    await new Promise((r) => setTimeout(r, 8000));
    a.proc.kill("SIGCONT");
    const alertPartitions = new Map<string, number>();
    const verdicts = await readTopic(alerts, (m) => m.size >= N, 120_000, alertPartitions);
    expect(verdicts.size).toBe(N);
    // each verdict on its record's partition number modulo the alerts topic's 3 (key topic/p/offset)
    for (const [key, q] of alertPartitions) expect(q).toBe(Number(key.split("/").at(-2)) % 3);
    a.proc.kill("SIGTERM");
    b.proc.kill("SIGTERM");
    const [ea, eb] = await Promise.all([a.exit, b.exit]);
    expect(ea.code, a.stderr()).toBe(0);
    expect(eb.code, b.stderr()).toBe(0);
    // both members scored (the group shared the partitions), and between them every record once
    expect(ea.summary!.records).toBeGreaterThan(0);
    expect(eb.summary!.records).toBeGreaterThan(0);
    expect(ea.summary!.stored! + eb.summary!.stored!).toBe(N);
    const rows = (await storeRows()).filter((r) => r.key.startsWith(`${topic}/`));
    expect(rows.length).toBe(N);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    expect(new Set(rows.map((r) => r.key))).toEqual(new Set(verdicts.keys()));
    expect(rows.filter((r) => r.threat).length).toBe(predictThreats);
    expect(new Set(rows.map((r) => r.model))).toEqual(new Set(["netsec-phishing:1"]));
    const one = JSON.parse([...verdicts.values()][0]!);
    expect(one).toMatchObject({ topic, model: "netsec-phishing:1" });
    // both members' batches reached the champion's monitoring windows (one member kept them, the
    // other left its counts in the inbox), beside the two netsec predict runs of beforeAll
    const mon = runCli(["monitor", "--model", "netsec-phishing", "--json"], env);
    expect(mon.code, mon.stderr).toBe(0);
    const [view] = mon.json!.models as {
      open: { rows: number } | null;
      windows: { rows: number; version: string }[];
    }[];
    const monitored = view!.windows.reduce((n, w) => n + w.rows, 0) + (view!.open?.rows ?? 0);
    // each record once, though records were scored twice around the stall (the offset ledger)
    expect(monitored).toBe(N + SMALL_N + N);
    expect(view!.windows.every((w) => w.version === "netsec-phishing:1")).toBe(true);
  });

  it("monitoring alerts reach the Kafka topic of NETSEC_ALERT_KAFKA_*, keyed by model", async () => {
    const topic = `monitor-alerts-${run}`;
    // rows of one class only: the threat rate is far from training's, so the threat_rate rule fires
    const lines = readFileSync(PHISHING_CSV, "utf8").trim().split(/\r?\n/);
    const header = lines[0]!.replace(/"/g, "").split(",");
    const label = header.indexOf("Result");
    const oneClass = join(tmp.dir, "one-class.csv");
    writeFileSync(
      oneClass,
      `${[lines[0]!, ...lines.slice(1).filter((l) => l.split(",")[label] === "1")].join("\n")}\n`,
    );
    // a fresh home scoring the champion's bundle: its monitoring holds this batch alone
    const fresh = { ...env, NETSEC_HOME: join(tmp.dir, "alerts-home") };
    const bundle = new ModelRegistry(env.NETSEC_HOME).resolve("netsec-phishing@champion").dir;
    const kafka = { NETSEC_ALERT_KAFKA_BROKERS: brokers!, NETSEC_ALERT_KAFKA_TOPIC: topic };
    const p = runCli(
      ["predict", "--model", bundle, "--input", oneClass, "--output", join(tmp.dir, "o.csv"), "--json"],
      { ...fresh, ...kafka, NETSEC_MONITOR_WINDOW_ROWS: "100", NETSEC_MONITOR_WINDOW_MIN_SECONDS: "0" },
    );
    expect(p.code, p.stderr).toBe(0);
    const mon = runCli(["monitor", "--json"], {
      ...fresh,
      NETSEC_MONITOR_WINDOW_ROWS: "100",
      NETSEC_MONITOR_WINDOW_MIN_SECONDS: "0",
    });
    expect(mon.code, mon.stderr).toBe(0);
    const [view] = mon.json!.models as { model: string; windows: { alerts: string[] }[] }[];
    const fired = view!.windows[0]!.alerts;
    expect(fired).toContain("threat_rate");
    // every message (readTopic keeps one per key, and all of these share the model's key)
    const got: { key: string | null; value: string }[] = [];
    const reader = new StreamConsumer({
      brokers: [brokers!],
      group: `check-${topic}`,
      topic,
      clientId: "netsec-test-reader",
    });
    await reader.start(
      (r) => got.push({ key: r.key, value: r.value }),
      () => {},
    );
    const deadline = Date.now() + 60_000;
    while (got.length < fired.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    await reader.close();
    expect(got.map((g) => g.key)).toEqual(fired.map(() => view!.model));
    const alerts = got.map((g) => JSON.parse(g.value) as { event: string; rule: string; model: string });
    expect(alerts.map((a) => a.rule).sort()).toEqual([...fired].sort());
    expect(alerts.every((a) => a.event === "netsec.monitoring.alert" && a.model === view!.model)).toBe(true);
  });
  it("kill -9 of one member mid-stream: the survivor finishes, no record without a verdict, none twice", async () => {
    const topic = `flows-${run}-k`;
    const alerts = `alerts-${run}-k`;
    await ensureTopic([brokers!], topic, 4);
    // small batches and one in flight: the victim is still mid-stream when it is killed
    const args = ["--topic", topic, "--group", `g-${run}-k`, "--alerts-topic", alerts, "--all"];
    const victim = member([...args, "--batch-size", "100", "--max-in-flight", "1"]);
    const survivor = member([...args, "--batch-size", "100", "--max-in-flight", "1"]);
    await Promise.all([victim.joined, survivor.joined]);
    const publishing = publishSmall(topic);
    // once the victim has handled its first records, it dies without a word: no commit, no leaving
    await until(async () => (await victim.handled()) >= 100);
    const victimHandled = await victim.handled();
    victim.proc.kill("SIGKILL");
    const ev = await victim.exit;
    expect(ev.code).toBe(null);
    // what the victim committed, at most: the group's commits less the survivor's. (Its /metrics
    // read above is less: it went on committing until the kill.) The survivor's count is read
    // first: its commits only grow, so the difference can only be too large, never too small.
    const survivorBefore = await survivor.handled();
    const progress = new GroupProgress([brokers!]);
    const victimCommittedAtMost = (await progress.committed(`g-${run}-k`, topic)) - survivorBefore;
    await progress.close();
    expect(victimCommittedAtMost).toBeGreaterThanOrEqual(victimHandled);
    await publishing;
    expect(victimHandled).toBeLessThan(SMALL_N);
    const verdicts = await readTopic(alerts, (m) => m.size >= SMALL_N, 180_000);
    expect(verdicts.size).toBe(SMALL_N);
    survivor.proc.kill("SIGTERM");
    const es = await survivor.exit;
    expect(es.code, survivor.stderr()).toBe(0);
    // the survivor handled everything the victim had not committed (and, redelivered, some it had)
    expect(es.summary!.records!).toBeGreaterThanOrEqual(SMALL_N - victimCommittedAtMost);
    const rows = (await storeRows()).filter((r) => r.key.startsWith(`${topic}/`));
    expect(rows.length).toBe(SMALL_N);
    expect(rows.filter((r) => r.n > 1)).toEqual([]);
    expect(rows.filter((r) => r.threat).length).toBe(smallThreats);
  });

  it("poison records go to the dead-letter topic with their reason; the rest are scored", async () => {
    const topic = `flows-${run}-p`;
    const alerts = `alerts-${run}-p`;
    const dlq = `${topic}.dead-letter`;
    await ensureTopic([brokers!], topic, 2);
    const lines = readFileSync(PHISHING_CSV, "utf8").trim().split(/\r?\n/);
    const header = lines[0]!.replace(/"/g, "").split(",");
    const good = lines
      .slice(1, 201)
      .map((l) => Object.fromEntries(l.split(",").map((v, i) => [header[i]!, v])));
    const { SSLfinal_State: _, ...missing } = good[0]!;
    const poison = [
      "{not json",
      JSON.stringify({ ...good[1], URL_Length: "long" }),
      JSON.stringify(missing),
      JSON.stringify([1, 2, 3]),
    ];
    const p = new StreamProducer([brokers!], "netsec-test");
    await p.send([
      ...good.map((g, i) => ({ topic, key: `good-${i}`, value: JSON.stringify(g) })),
      ...poison.map((v, i) => ({ topic, key: `poison-${i}`, value: v })),
    ]);
    await p.close();
    const m = member(["--topic", topic, "--group", `g-${run}-p`, "--alerts-topic", alerts, "--all"]);
    await m.joined;
    const dead = await readTopic(dlq, (x) => x.size >= poison.length);
    const verdicts = await readTopic(alerts, (x) => x.size >= good.length);
    // the counts on /metrics (Prometheus text): a batch is counted once committed, after its verdicts
    // are published and stored, so they may reach the topics a store write earlier
    for (const until = Date.now() + 30_000; Date.now() < until; )
      if ((await m.handled()) >= good.length + poison.length) break;
      else await new Promise((r) => setTimeout(r, 50));
    const text = await m.metrics();
    expect(text).toContain("netsec_stream_dead_letters_total 4\n");
    expect(text).toContain(`netsec_stream_records_total{outcome="scored"} ${good.length}\n`);
    expect(text).toContain('netsec_stream_records_total{outcome="dead_letter"} 4\n');
    expect(text).toMatch(/^netsec_stream_batch_seconds_count [1-9]\d*$/m);
    // one latency per record (dead letters too: their reason is published), one stage timing per batch
    expect(text).toContain(`netsec_stream_record_to_alert_seconds_count ${good.length + 4}\n`);
    const batches = /^netsec_stream_batch_seconds_count (\d+)$/m.exec(text)![1];
    for (const stage of ["fetch", "batch", "score", "publish", "store", "commit"])
      expect(text).toContain(`netsec_stream_stage_seconds_count{stage="${stage}"} ${batches}\n`);
    expect(text).toMatch(/^netsec_stream_records_per_second \d/m);
    expect(text).toContain("# TYPE netsec_stream_consumer_lag gauge");
    expect(text).toContain('netsec_stream_model_info{version="netsec-phishing:1"} 1\n');
    m.proc.kill("SIGTERM");
    const e = await m.exit;
    expect(e.code, m.stderr()).toBe(0);
    expect(e.summary).toMatchObject({
      records: good.length + poison.length,
      scored: good.length,
      deadLetters: 4,
    });
    expect(verdicts.size).toBe(good.length);
    const reasons = [...dead.values()].map(
      (v) => JSON.parse(v) as { record_key: string; reason: string; value: string },
    );
    const byKey = Object.fromEntries(reasons.map((r) => [r.record_key, r]));
    expect(Object.keys(byKey).sort()).toEqual(["poison-0", "poison-1", "poison-2", "poison-3"]);
    expect(byKey["poison-0"]!.reason).toMatch(/^not JSON: /);
    expect(byKey["poison-0"]!.value).toBe("{not json");
    expect(byKey["poison-1"]!.reason).toMatch(/^column URL_Length: "long" /);
    expect(byKey["poison-2"]!.reason).toBe(
      "column SSLfinal_State: absent is required (use null for a missing value)",
    );
    expect(byKey["poison-3"]!.reason).toBe("expected a JSON object of feature values, got an array");
  });
  it("a broker stopped and restarted mid-stream: the members wait for it, none missing, none twice", async () => {
    const topic = `flows-${run}-r`;
    const alerts = `alerts-${run}-r`;
    await ensureTopic([brokers!], topic, 4);
    const args = [
      "--topic",
      topic,
      "--group",
      `g-${run}-r`,
      "--alerts-topic",
      alerts,
      "--all",
      "--batch-size",
      "100",
      "--max-in-flight",
      "1",
    ];
    const a = member(args);
    const b = member(args);
    await Promise.all([a.joined, b.joined]);
    await publishSmall(topic);
    await until(async () => (await a.handled()) + (await b.handled()) >= 300);
    expect((await a.handled()) + (await b.handled())).toBeLessThan(SMALL_N);
    // same port, same log directory: the topic's records and the group's offsets survive
    execFileSync(join(ROOT, "scripts/test-services"), ["restart", "kafka"], { stdio: "ignore" });
    const verdicts = await readTopic(alerts, (m) => m.size >= SMALL_N, 240_000);
    expect(verdicts.size).toBe(SMALL_N);
    a.proc.kill("SIGTERM");
    b.proc.kill("SIGTERM");
    const [ea, eb] = await Promise.all([a.exit, b.exit]);
    expect(ea.code, a.stderr()).toBe(0);
    expect(eb.code, b.stderr()).toBe(0);
    const rows = (await storeRows()).filter((r) => r.key.startsWith(`${topic}/`));
    expect(rows.length).toBe(SMALL_N);
    expect(rows.filter((r) => r.n > 1)).toEqual([]);
    expect(rows.filter((r) => r.threat).length).toBe(smallThreats);
  });

  // last: it makes a second version the champion, which the tests above compare against v1
  it("picks up a new champion without a restart; each verdict names the version that made it", async () => {
    const topic = `flows-${run}-c`;
    const alerts = `alerts-${run}-c`;
    await ensureTopic([brokers!], topic, 1);
    const m = member([
      "--topic",
      topic,
      "--group",
      `g-${run}-c`,
      "--alerts-topic",
      alerts,
      "--all",
      "--poll-ms",
      "200",
    ]);
    await m.joined;
    const lines = readFileSync(PHISHING_CSV, "utf8").trim().split(/\r?\n/);
    const header = lines[0]!.replace(/"/g, "").split(",");
    const json = (l: string) =>
      JSON.stringify(Object.fromEntries(l.split(",").map((v, i) => [header[i]!, v])));
    const p = new StreamProducer([brokers!], "netsec-test");
    await p.send(lines.slice(1, 51).map((l) => ({ topic, value: json(l) })));
    const v1 = await readTopic(alerts, (x) => x.size >= 50);
    expect(new Set([...v1.values()].map((v) => JSON.parse(v).model))).toEqual(new Set(["netsec-phishing:1"]));
    // a second version, made champion by hand (the gate might keep v1)
    const t = runCli(["train", "--dataset", "phishing", "--models", "logistic_regression", "--json"], env);
    expect(t.code, t.stderr).toBe(0);
    new ModelRegistry(env.NETSEC_HOME).setAlias("netsec-phishing", "champion", 2, "stream test");
    // keep publishing small batches until a verdict names v2: from then on every verdict does
    let sent = 50;
    let all = new Map<string, string>();
    for (let round = 0; round < 40; round++) {
      await p.send(lines.slice(1 + sent, 1 + sent + 10).map((l) => ({ topic, value: json(l) })));
      sent += 10;
      all = await readTopic(alerts, (x) => x.size >= sent);
      if ([...all.values()].some((v) => JSON.parse(v).model === "netsec-phishing:2")) break;
    }
    await p.close();
    m.proc.kill("SIGTERM");
    expect((await m.exit).code, m.stderr()).toBe(0);
    expect(all.size).toBe(sent);
    const byOffset = [...all.values()].map((v) => JSON.parse(v) as { offset: number; model: string });
    byOffset.sort((a, b) => a.offset - b.offset);
    const firstV2 = byOffset.findIndex((v) => v.model === "netsec-phishing:2");
    expect(firstV2).toBeGreaterThanOrEqual(50);
    expect(byOffset.slice(0, firstV2).every((v) => v.model === "netsec-phishing:1")).toBe(true);
    expect(byOffset.slice(firstV2).every((v) => v.model === "netsec-phishing:2")).toBe(true);
  });
});

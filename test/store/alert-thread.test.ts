/**
 * The DuckDB alert store's writes on a thread of their own (`alert-thread.ts`): a write resolves only
 * once its alerts are durable (a process killed right after finds them in the file), a file held by
 * another process fails the write with STORE_BUSY after the bounded wait (the wait's message comes
 * back to this thread), and a writer thread that dies fails its write and every later one.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NetsecError } from "../../src/core/errors.ts";
import type { ThreadedAlertStore } from "../../src/store/alert-thread.ts";
import { ALERTS_TABLE, openAlertStore, type StreamAlert } from "../../src/store/alerts.ts";
import { openDuckDb } from "../../src/store/duckdb/connection.ts";
import { ROOT, tempDir } from "../helpers/env.ts";

const tmp = tempDir();
afterAll(tmp.cleanup);

const alert = (partition: number, offset: number): StreamAlert => ({
  topic: "flows",
  partition,
  offset: BigInt(offset),
  recordKey: null,
  model: "m:1",
  label: "-1",
  labelName: "phishing",
  threat: true,
  probability: 0.9,
  scoredAt: "2026-12-07T08:00:00.000Z",
});

async function offsets(file: string): Promise<number[]> {
  const db = await openDuckDb({ path: file, readOnly: true });
  try {
    const r = await db.connection.runAndReadAll(`SELECT "offset" FROM ${ALERTS_TABLE} ORDER BY 1`);
    return r.getRows().map((x) => Number(x[0]));
  } finally {
    db.close();
  }
}

interface Ended {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

function child(code: string): ChildProcess & { out: Promise<Ended> } {
  const c = spawn(process.execPath, ["--input-type=module", "-e", code], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  c.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  c.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const out = new Promise<Ended>((resolve) =>
    c.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return Object.assign(c, { out });
}

/** Another process holding the DuckDB file `file` open (for a minute, or until killed), once it does. */
async function holdFile(file: string): Promise<ChildProcess & { out: Promise<Ended> }> {
  const holder = child(`
    const { openDuckDb } = await import(${JSON.stringify(join(ROOT, "src/store/duckdb/connection.ts"))});
    const db = await openDuckDb({ path: ${JSON.stringify(file)} });
    console.log("holding");
    setTimeout(() => db.close(), 60_000);`);
  await new Promise<void>((resolve) => holder.stdout?.on("data", () => resolve()));
  return holder;
}

describe("alert store on its writer thread", () => {
  it("a write has its alerts in the file when it resolves: a process killed then loses none", async () => {
    const file = join(tmp.dir, "durable.duckdb");
    // the store held open (as the stream runs it): killed with SIGKILL the moment a write resolves,
    // with no close, the file still has every row of every write resolved
    const c = child(`
      const { openAlertStore } = await import(${JSON.stringify(join(ROOT, "src/store/alerts.ts"))});
      const s = openAlertStore(${JSON.stringify(`duckdb:${file}`)}, { holdOpen: true });
      const a = (o) => ({ topic: "flows", partition: 0, offset: BigInt(o), recordKey: null, model: "m:1",
        label: "-1", labelName: "phishing", threat: true, probability: 0.5, scoredAt: "t" });
      for (let b = 0; b < 3; b++) await s.write(Array.from({ length: 1000 }, (_, i) => a(b * 1000 + i)));
      process.kill(process.pid, "SIGKILL");`);
    const r = await c.out;
    expect(r.signal, r.stderr).toBe("SIGKILL");
    expect(await offsets(file)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
  });

  it("open() makes the alerts table before any write, and fails as a write would on a file it cannot use", async () => {
    for (const holdOpen of [true, false]) {
      const file = join(tmp.dir, `opened-${holdOpen}.duckdb`);
      const s = openAlertStore(`duckdb:${file}`, { holdOpen });
      await s.open();
      await s.close();
      expect(await offsets(file), `holdOpen ${holdOpen}`).toEqual([]);
    }
    // a directory where the file should be
    const s = openAlertStore(`duckdb:${tmp.dir}`, { holdOpen: true });
    const e = await s.open().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetsecError);
    expect((e as NetsecError).code).toBe("STORE_UNAVAILABLE");
    expect((e as NetsecError).message).toContain(tmp.dir);
    await s.close();
  });

  it("a file another process holds fails the write with STORE_BUSY after the wait, and says it waits", async () => {
    const file = join(tmp.dir, "held.duckdb");
    const holder = await holdFile(file);
    try {
      const waits: string[] = [];
      const s = openAlertStore(`duckdb:${file}`, { waitSeconds: 1, onWait: (m) => waits.push(m) });
      const e = await s.write([alert(0, 1)]).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(NetsecError);
      expect((e as NetsecError).code).toBe("STORE_BUSY");
      expect((e as NetsecError).message).toMatch(/busy.*waited 1 s/);
      expect(waits.length).toBe(1);
      expect(waits[0]).toMatch(/is busy.*waiting up to 1 s/);
      await s.close();
    } finally {
      holder.kill("SIGKILL");
      await holder.out;
    }
  });

  it("a writer thread that dies fails the write it holds, and every later write", async () => {
    const file = join(tmp.dir, "died.duckdb");
    // the write is held on the thread by another process's lock on the file, the thread sleeping
    // between two tries to open it; it is stopped then, as a crash would (not inside a DuckDB call: a
    // worker terminated inside a native call aborts the whole process)
    const holder = await holdFile(file);
    try {
      let waiting: () => void = () => {};
      const told = new Promise<void>((resolve) => {
        waiting = resolve;
      });
      const s = openAlertStore(`duckdb:${file}`, {
        waitSeconds: 30,
        onWait: () => waiting(),
      }) as ThreadedAlertStore;
      const held = s.write([alert(0, 1)]).catch((x: unknown) => x);
      await told;
      await s.threads[0]!.terminate();
      const e = await held;
      expect(e).toBeInstanceOf(NetsecError);
      expect((e as NetsecError).code).toBe("STORE_ERROR");
      expect((e as NetsecError).message).toMatch(/writer thread failed/);
      const later = await s.write([alert(0, 5)]).catch((x: unknown) => x);
      expect((later as NetsecError).message).toMatch(/writer thread failed/);
      await s.close();
    } finally {
      holder.kill("SIGKILL");
      await holder.out;
    }
  });

  it("a thread that dies between writes fails the next write", async () => {
    const s = openAlertStore(`duckdb:${join(tmp.dir, "died-idle.duckdb")}`, {
      holdOpen: true,
    }) as ThreadedAlertStore;
    expect(await s.write([alert(0, 1)])).toBe(1);
    await s.threads[0]!.terminate();
    await new Promise((r) => setTimeout(r, 50));
    const e = await s.write([alert(0, 2)]).catch((x: unknown) => x);
    expect((e as NetsecError).code).toBe("STORE_ERROR");
    expect((e as NetsecError).message).toMatch(/writer thread failed \(it stopped\)/);
    await s.close();
  });
});

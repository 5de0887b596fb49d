/**
 * The alert store's writer thread (`alert-thread.ts`): tasks `store.openAlerts`, `store.writeAlerts`
 * and `store.closeAlerts`, which own the DuckDB store of each threaded alert store (by its id) for the
 * thread's life, so no DuckDB call of the stream's alert store runs on the stream's thread. A failure
 * comes back as data (`StoreFailure`: the NetsecError's code, message and details), not as a thrown
 * error, which would reach the other thread as a plain Error without its code; a thrown error then
 * means the thread itself failed.
 */
import { BroadcastChannel } from "node:worker_threads";
import { type ErrorCode, type ErrorLocation, NetsecError } from "../core/errors.ts";
import type { AlertColumns } from "./alert-columns.ts";
import { DuckDbAlertWriter } from "./duckdb/alert-writer.ts";
import { DuckDbStore } from "./duckdb/store.ts";

export interface AlertWriterSettings {
  /** The store file (resolved), or ":memory:". */
  path: string;
  waitSeconds?: number;
  holdOpen: boolean;
  threads: number;
  /** The BroadcastChannel the "busy, waiting" messages go to. */
  waitChannel: string;
}

export interface WriteAlertsArgs {
  /** The threaded store's id: its writer, made by its first write, is kept under it. */
  id: string;
  settings: AlertWriterSettings;
  columns: AlertColumns;
}

export interface StoreFailure {
  code: ErrorCode;
  message: string;
  details: ErrorLocation;
}

export type AlertTaskResult = { added: number } | { failure: StoreFailure };

const writers = new Map<string, { writer: DuckDbAlertWriter; waits: BroadcastChannel }>();

function failure(e: unknown, location: string): { failure: StoreFailure } {
  if (e instanceof NetsecError) return { failure: { code: e.code, message: e.message, details: e.details } };
  return {
    failure: {
      code: "STORE_ERROR",
      message: `writing stream alerts to ${location}: ${(e as Error).message}`,
      details: { uri: location },
    },
  };
}

/** The writer of the store `a.id`, made (not opened yet) by the first task for it. */
function writerFor(a: { id: string; settings: AlertWriterSettings }): DuckDbAlertWriter {
  let w = writers.get(a.id);
  if (w === undefined) {
    const s = a.settings;
    const waits = new BroadcastChannel(s.waitChannel);
    const store = new DuckDbStore(s.path, {
      threads: s.threads,
      ...(s.waitSeconds !== undefined ? { waitSeconds: s.waitSeconds } : {}),
      onWait: (m) => waits.postMessage(m),
    });
    w = { writer: new DuckDbAlertWriter(store, s.holdOpen), waits };
    writers.set(a.id, w);
  }
  return w.writer;
}

/** Open the store `a.id` and make its table ready (before the first write). */
export async function openAlertsTask(a: {
  id: string;
  settings: AlertWriterSettings;
}): Promise<AlertTaskResult> {
  try {
    await writerFor(a).prepare();
    return { added: 0 };
  } catch (e) {
    return failure(e, `duckdb:${a.settings.path}`);
  }
}

/** Insert the alerts not stored yet (all or nothing) into the store `a.id`, opened by its first write. */
export async function writeAlertsTask(a: WriteAlertsArgs): Promise<AlertTaskResult> {
  try {
    return { added: await writerFor(a).write(a.columns) };
  } catch (e) {
    return failure(e, `duckdb:${a.settings.path}`);
  }
}

/** Close the store `a.id` (after its last write) and forget it. */
export async function closeAlertsTask(a: { id: string }): Promise<AlertTaskResult> {
  const w = writers.get(a.id);
  if (w === undefined) return { added: 0 };
  writers.delete(a.id);
  w.waits.close();
  try {
    await w.writer.close();
    return { added: 0 };
  } catch (e) {
    return failure(e, a.id);
  }
}

declare module "../core/tasks.ts" {
  interface TaskFns {
    "store.openAlerts": typeof openAlertsTask;
    "store.writeAlerts": typeof writeAlertsTask;
    "store.closeAlerts": typeof closeAlertsTask;
  }
}

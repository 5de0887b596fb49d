/**
 * A write's stream verdicts as columns, the form they cross to the alert store's writer thread in
 * (`alert-thread.ts`): the numbers in typed arrays, whose buffers are transferred (moved, not copied),
 * and the strings an alert shares with most others of the write (its topic, model, label, label name
 * and write time: a handful of distinct tuples per write) once each in `shared`, referred to by
 * number. An array of alert objects would be cloned field by field, ten properties a row, on the
 * stream's thread.
 */
import type { StreamAlert } from "./alerts.ts";

/** The strings of an alert that most alerts of a write share. */
export type SharedAlertStrings = Pick<StreamAlert, "topic" | "model" | "label" | "labelName" | "scoredAt">;

export interface AlertColumns {
  /** Rows. */
  length: number;
  partition: Int32Array;
  offset: BigInt64Array;
  /** The record's Kafka key, or null. */
  recordKey: (string | null)[];
  /** Row → its entry of `shared`. */
  sharedIndex: Int32Array;
  /** 1: a threat. */
  threat: Uint8Array;
  probability: Float64Array;
  /** The distinct shared-string tuples of the write. */
  shared: SharedAlertStrings[];
}

/** `alerts` as columns (row i is alerts[i]). */
export function alertColumns(alerts: readonly StreamAlert[]): AlertColumns {
  const n = alerts.length;
  const c: AlertColumns = {
    length: n,
    partition: new Int32Array(n),
    offset: new BigInt64Array(n),
    recordKey: new Array<string | null>(n),
    sharedIndex: new Int32Array(n),
    threat: new Uint8Array(n),
    probability: new Float64Array(n),
    shared: [],
  };
  const index = new Map<string, number>();
  let last: SharedAlertStrings | undefined;
  let lastIndex = -1;
  for (let i = 0; i < n; i++) {
    const a = alerts[i]!;
    c.partition[i] = a.partition;
    c.offset[i] = a.offset;
    c.recordKey[i] = a.recordKey;
    c.threat[i] = a.threat ? 1 : 0;
    c.probability[i] = a.probability;
    // consecutive alerts mostly share their strings: the last tuple is checked first
    if (
      last === undefined ||
      last.label !== a.label ||
      last.topic !== a.topic ||
      last.model !== a.model ||
      last.scoredAt !== a.scoredAt ||
      last.labelName !== a.labelName
    ) {
      const key = `${a.topic}\0${a.model}\0${a.label}\0${a.labelName}\0${a.scoredAt}`;
      let k = index.get(key);
      if (k === undefined) {
        k = c.shared.length;
        c.shared.push({
          topic: a.topic,
          model: a.model,
          label: a.label,
          labelName: a.labelName,
          scoredAt: a.scoredAt,
        });
        index.set(key, k);
      }
      last = c.shared[k]!;
      lastIndex = k;
    }
    c.sharedIndex[i] = lastIndex;
  }
  return c;
}

/** The buffers of `c` to transfer with it (they are unusable on the sending side afterwards). */
export function alertColumnBuffers(c: AlertColumns): ArrayBuffer[] {
  return [c.partition, c.offset, c.sharedIndex, c.threat, c.probability].map((a) => a.buffer as ArrayBuffer);
}

/**
 * Whether no two rows of `c` have one key, known cheaply: one topic, and each partition's offsets
 * rising (as a consumer's batches are; false is "maybe not", for the write that skips repeats).
 */
export function keysDistinct(c: AlertColumns): boolean {
  const topic = c.shared[0]?.topic;
  if (c.shared.some((s) => s.topic !== topic)) return false;
  const last = new Map<number, bigint>();
  for (let i = 0; i < c.length; i++) {
    const p = c.partition[i]!;
    const o = c.offset[i]!;
    const prev = last.get(p);
    if (prev !== undefined && o <= prev) return false;
    last.set(p, o);
  }
  return true;
}

/**
 * One batch of consumed records → a verdict for each good record and a reason for each bad one.
 *
 * Scoring is `netsec predict`'s: the records become a Frame of the model's input columns through
 * `recordsToFrame` (the schema checks of `POST /predict/records`, which coerce text cells as a CSV file
 * is coerced), then `Predictor.predict` (the bundle's preprocessing, model and threshold). A batch with
 * a bad record is checked record by record to tell the bad ones apart (only then: a clean batch costs
 * one conversion), and the rest are scored together. With `fast` (`fast-frame.ts`), a batch of
 * well-formed records skips the per-record objects altogether: same Frame, a fraction of the time.
 */
import type { Prediction, Predictor } from "../bundle/predictor.ts";
import { isNetsecError } from "../core/errors.ts";
import type { Frame } from "../core/frame.ts";
import { onThisThread } from "../core/helper.ts";
import { type JsonScalar, recordsToFrame } from "../serve/records.ts";
import type { FastFrame } from "./fast-frame.ts";
import type { InRecord } from "./kafka.ts";
import type { Decoded } from "./records.ts";
import type { ScoringThread } from "./score-thread.ts";

export interface Verdict {
  /** `topic/partition/offset`: the record's identity, the store's key. */
  readonly key: string;
  topic: string;
  partition: number;
  offset: bigint;
  /** The record's own Kafka key, when it has one. */
  recordKey: string | null;
  /** The record's Kafka timestamp (ms). */
  timestamp: number;
  /** The model that scored it: "name:version" from the registry. */
  model: string;
  /** The predicted label, in the dataset's values (e.g. "-1"), and its display name. */
  label: string;
  labelName: string;
  threat: boolean;
  /** Probability of the threat class. */
  probability: number;
}

export interface DeadLetter {
  record: InRecord;
  reason: string;
}

export interface ScoredBatch {
  verdicts: Verdict[];
  dead: DeadLetter[];
  /** The scored records' frame and prediction, in `verdicts`' order (for monitoring); null when none. */
  scored: { frame: Frame; prediction: Prediction } | null;
}

export function recordKey(r: InRecord): string {
  return `${r.topic}/${r.partition}/${r.offset}`;
}

/** Why one record does not fit the schema, from recordsToFrame's error (its cell problems). */
function schemaReason(e: unknown): string {
  if (!isNetsecError(e)) throw e;
  const problems = (e.details as { problems?: { column: string; value: unknown; message: string }[] })
    .problems;
  if (!problems || problems.length === 0) return e.message;
  return problems
    .map(
      (p) => `column ${p.column}: ${p.value === undefined ? "absent" : JSON.stringify(p.value)} ${p.message}`,
    )
    .join("; ");
}

export function scoreBatch(
  batch: readonly InRecord[],
  decode: (text: string) => Decoded,
  predictor: Predictor,
  fast?: FastFrame,
): ScoredBatch {
  const dead: DeadLetter[] = [];
  const whole = fast?.(
    batch.map((r) => r.value),
    predictor.schema,
    predictor.manifest.input_columns,
  );
  if (whole) return { ...judge(batch, whole, predictor), dead };
  let good: InRecord[] = [];
  let objects: Record<string, JsonScalar>[] = [];
  for (const r of batch) {
    const d = decode(r.value);
    if (d.ok) {
      good.push(r);
      objects.push(d.record);
    } else dead.push({ record: r, reason: d.reason });
  }
  const inputs = predictor.manifest.input_columns;
  let frame: Frame | null = null;
  if (objects.length > 0) {
    try {
      frame = recordsToFrame(objects, predictor.schema, inputs).frame;
    } catch (e) {
      if (!isNetsecError(e)) throw e;
      const keptRecords: InRecord[] = [];
      const keptObjects: Record<string, JsonScalar>[] = [];
      for (const [i, o] of objects.entries()) {
        try {
          recordsToFrame([o], predictor.schema, inputs);
          keptRecords.push(good[i]!);
          keptObjects.push(o);
        } catch (e1) {
          dead.push({ record: good[i]!, reason: schemaReason(e1) });
        }
      }
      good = keptRecords;
      objects = keptObjects;
      frame = objects.length > 0 ? recordsToFrame(objects, predictor.schema, inputs).frame : null;
    }
  }
  return { ...(frame ? judge(good, frame, predictor) : { verdicts: [], scored: null }), dead };
}

/**
 * `scoreBatch`, with the fast path's scan and the model on `thread` when the predictor allows
 * (`score-thread.ts`): the same verdicts. A batch the fast path refuses is scored here by the general
 * path; a failure of the thread rejects.
 */
export async function scoreBatchOn(
  thread: ScoringThread | null,
  batch: readonly InRecord[],
  decode: (text: string) => Decoded,
  predictor: Predictor,
  fast?: FastFrame,
): Promise<ScoredBatch> {
  if (thread === null || !thread.usable(predictor)) return scoreBatch(batch, decode, predictor, fast);
  const values: string[] = new Array(batch.length);
  for (let i = 0; i < batch.length; i++) values[i] = batch[i]!.value;
  const r = await thread.score(predictor, values);
  // refused by the fast path on the thread: the general path (the fast one would refuse it again)
  if (r === null) return scoreBatch(batch, decode, predictor);
  return { verdicts: verdictsOf(batch, predictor.version, r.prediction), scored: r, dead: [] };
}

/**
 * Empty the texts of a scored batch's records, all but the dead letters' (which publish theirs): a
 * record's text (≈ 650 bytes of JSON) is read only by scoring, but its record lives on until the
 * batch's delivery is committed (its partition and offset), ≈ 100–300 ms at 50,000 records/s, so
 * ≈ 10,000 texts were alive at each young-generation collection, copied by it and then promoted
 * (BENCHMARKS.md "Streaming", lane V3).
 */
export function releaseTexts(batch: readonly InRecord[], dead: readonly DeadLetter[]): void {
  if (dead.length === 0) {
    for (const r of batch) r.value = "";
    return;
  }
  const kept = new Set(dead.map((x) => x.record));
  for (const r of batch) if (!kept.has(r)) r.value = "";
}

/**
 * A verdict as `judge` makes it, one per scored record: its key is built when read (the published
 * and stored ones), not for every record scored.
 */
class RecordVerdict implements Verdict {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly recordKey: string | null;
  readonly timestamp: number;
  readonly model: string;
  readonly label: string;
  readonly labelName: string;
  readonly threat: boolean;
  readonly probability: number;

  constructor(r: InRecord, model: string, p: Prediction, i: number) {
    this.topic = r.topic;
    this.partition = r.partition;
    this.offset = r.offset;
    this.recordKey = r.key;
    this.timestamp = r.timestamp;
    this.model = model;
    this.label = p.labels[i]!;
    this.labelName = p.labelNames[i]!;
    this.threat = p.isThreat[i] === 1;
    this.probability = p.probability[i]!;
  }

  get key(): string {
    return `${this.topic}/${this.partition}/${this.offset}`;
  }
}

/**
 * Batches of fewer records are scored on this thread alone (`onThisThread`), without handing half of
 * the rows to the helper thread: a paced stream's batches (tens to a few hundred records) do not repay
 * the hand-off (see BENCHMARKS.md "Streaming", lane S3); a backlog's full batches (8,000) do.
 */
export const SPLIT_MIN_RECORDS = 2048;

/** Score `frame` (the rows of `records`, in order): a verdict per record. */
function judge(
  records: readonly InRecord[],
  frame: Frame,
  predictor: Predictor,
): Pick<ScoredBatch, "verdicts" | "scored"> {
  const p =
    frame.nRows < SPLIT_MIN_RECORDS ? onThisThread(() => predictor.predict(frame)) : predictor.predict(frame);
  return { verdicts: verdictsOf(records, predictor.version, p), scored: { frame, prediction: p } };
}

/** A verdict per record from the prediction of their rows (in order) by `model`. */
function verdictsOf(records: readonly InRecord[], model: string, p: Prediction): Verdict[] {
  const verdicts: Verdict[] = new Array(records.length);
  for (let i = 0; i < records.length; i++) verdicts[i] = new RecordVerdict(records[i]!, model, p, i);
  return verdicts;
}

/**
 * A verdict as published on the alerts topic: one JSON object,
 * `{"key","topic","partition","offset","record_key","model","label","label_name","threat","probability","record_timestamp"}`,
 * the text `JSON.stringify` gives for that object, written by a template: the strings that repeat
 * from verdict to verdict (topic, model, labels) are quoted once and kept, and no object is built per
 * verdict (JSON.stringify of an object per threat was the largest part of a batch's delivery on the
 * stream's thread).
 */
import type { Verdict } from "./score.ts";

/** Quoted texts kept at most (topics, model versions and labels: a handful in practice). */
const QUOTED_MAX = 1024;

/** A JSON number as JSON.stringify writes it (a non-finite one is null). */
function num(x: number): string {
  return Number.isFinite(x) ? String(x) : "null";
}

export class VerdictJson {
  private readonly quoted = new Map<string, string>();

  private q(s: string): string {
    let t = this.quoted.get(s);
    if (t === undefined) {
      t = JSON.stringify(s);
      if (this.quoted.size < QUOTED_MAX) this.quoted.set(s, t);
    }
    return t;
  }

  /** The verdict's JSON text; `key`: its `topic/partition/offset`. */
  text(v: Verdict, key: string): string {
    const recordKey = v.recordKey === null ? "null" : JSON.stringify(v.recordKey);
    return `{"key":${JSON.stringify(key)},"topic":${this.q(v.topic)},"partition":${num(v.partition)},"offset":${num(Number(v.offset))},"record_key":${recordKey},"model":${this.q(v.model)},"label":${this.q(v.label)},"label_name":${this.q(v.labelName)},"threat":${v.threat},"probability":${num(v.probability)},"record_timestamp":${num(v.timestamp)}}`;
  }
}

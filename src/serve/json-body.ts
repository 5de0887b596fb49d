/**
 * The JSON body parser of every route: the text's nesting depth is measured first (one pass over the
 * characters, strings skipped), and a body nested deeper than `MAX_JSON_DEPTH` is a 400 naming the
 * limit before anything recursive (JSON.parse, validation, error messages) sees it. A 30 KB body of
 * 5,000 nested brackets otherwise overflows the stack of whatever walks it, a 500. Bodies within the
 * limit go to fastify's own JSON parser (empty-body and prototype-poisoning checks kept). A number
 * too large for a double (`1e400`, which JSON.parse reads as Infinity and JSON.stringify writes as
 * null) is a 400 that quotes the number as it was written, with its record and key.
 */
import type { FastifyInstance } from "fastify";
import { NetsecError } from "../core/errors.ts";

/** Deepest nesting of arrays and objects a JSON body may have (a record list is 2 deep). */
export const MAX_JSON_DEPTH = 64;

/**
 * The first position where `text` opens its (max+1)-th nested array or object, or -1 when it never
 * nests deeper than `max`. Brackets inside strings (escapes included) do not count; the text need
 * not be valid JSON (the parser that follows says what is wrong with it).
 */
export function jsonTooDeepAt(text: string, max: number): number {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // skip the string: up to the next quote not escaped by a backslash
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) return i;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return -1;
}

/** Could the text hold a number literal beyond ±1.8e308 (a 3-digit exponent, or 309+ digits)? A cheap pre-test. */
const MAYBE_HUGE = /\d[eE]\+?\d{3}|\d{309}/;

/**
 * The first number in the JSON text that is not finite as a double: its literal, its key, and (for a
 * list of records) its 1-based record. Null when every number is finite. The text must be valid JSON.
 */
export function firstNonFiniteNumber(text: string): { literal: string; key: string; row?: number } | null {
  if (!MAYBE_HUGE.test(text)) return null;
  let found: { literal: string; key: string; holder: unknown } | null = null;
  // the reviver's third argument (the literal's source text) is in Node 21+
  const root: unknown = JSON.parse(text, function (this: unknown, key, value, context?: { source?: string }) {
    if (found === null && typeof value === "number" && !Number.isFinite(value)) {
      found = { literal: context?.source ?? String(value), key, holder: this };
    }
    return value;
  });
  if (found === null) return null;
  const f = found as { literal: string; key: string; holder: unknown };
  const index = Array.isArray(root) ? root.indexOf(f.holder) : -1;
  return { literal: f.literal, key: f.key, ...(index >= 0 ? { row: index + 1 } : {}) };
}

/** Replace fastify's application/json parser with one that refuses bodies nested deeper than the limit. */
export function registerJsonParser(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
    const text = body as string;
    const at = jsonTooDeepAt(text, maxDepth);
    if (at >= 0) {
      done(
        new NetsecError(
          "BAD_REQUEST",
          `the JSON body is nested more than ${maxDepth} levels deep (at character ${at + 1}); the limit is ${maxDepth}`,
          { part: "body", limit: maxDepth, position: at + 1 },
        ),
        undefined,
      );
      return;
    }
    parse(req, text, (err, value) => {
      if (err) return done(err, undefined);
      const huge = firstNonFiniteNumber(text);
      if (huge) {
        const literal = huge.literal.length > 40 ? `${huge.literal.slice(0, 37)}...` : huge.literal;
        const where = `${huge.row !== undefined ? `record ${huge.row}, ` : ""}key ${JSON.stringify(huge.key)}`;
        return done(
          new NetsecError(
            "BAD_REQUEST",
            `invalid body: ${where}: the number ${literal} is not a finite number (beyond ±1.8e308)`,
            {
              part: "body",
              ...(huge.row !== undefined ? { row: huge.row } : {}),
              column: huge.key,
              value: literal,
            },
          ),
          undefined,
        );
      }
      done(null, value);
    });
  });
}

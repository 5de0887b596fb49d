/**
 * The preprocessing part of a model: per column type from the schema,
 *   numeric columns     → imputer (median | most_frequent | mean | knn, k = 3 as the original project)
 *                         → standard scaler (mean 0, std 1; zero-variance columns keep scale 1)
 *   categorical columns → most-frequent imputer → one-hot (categories seen at fit, sorted; unseen
 *                         categories become all-zero rows, so NSL-KDD's test-only services are harmless)
 * Fitted on training data only; the fitted state is plain JSON (means, scales, categories, donors),
 * never code. Categories are matched by string value, so a frame read with another dictionary works.
 *
 * KNN imputation follows scikit-learn's KNNImputer (nan_euclidean distance, uniform weights over the
 * k nearest rows that have the value); the donor rows kept in the state are capped at 10,000 (a seeded
 * sample) so a bundle stays small — a documented difference from scikit-learn, which keeps all rows.
 */
import { NetsecError } from "../core/errors.ts";
import { allocMatrix, type Frame, type Matrix } from "../core/frame.ts";
import { Rng } from "../core/rng.ts";

export type ImputeStrategy = "median" | "most_frequent" | "mean" | "knn";

export interface TransformerOptions {
  numeric: readonly string[];
  categorical: readonly string[];
  imputer: ImputeStrategy;
  knnNeighbors?: number;
  scale?: boolean;
  seed?: number;
}

export interface TransformerState {
  format: "netsec-column-transformer";
  version: 1;
  numeric: { name: string; fill: number; mean: number; scale: number }[];
  categorical: { name: string; fill: string; categories: string[] }[];
  imputer: ImputeStrategy;
  knn: { k: number; donors: number[][] } | null;
  scale: boolean;
}

const MAX_DONORS = 10_000;

function median(sorted: Float64Array): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  return n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

function mostFrequentNumber(vals: Float64Array): number {
  // ties → smallest value (scikit-learn's SimpleImputer)
  const sorted = vals.slice().sort();
  let best = Number.NaN;
  let bestC = 0;
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j < sorted.length && sorted[j] === sorted[i]) j++;
    if (j - i > bestC) {
      bestC = j - i;
      best = sorted[i]!;
    }
    i = j;
  }
  return best;
}

export class ColumnTransformer {
  state: TransformerState | null = null;
  private namesCache: { state: TransformerState; names: string[] } | null = null;

  get featureNames(): string[] {
    const s = this.mustState();
    if (this.namesCache?.state === s) return this.namesCache.names;
    const names = [
      ...s.numeric.map((c) => c.name),
      ...s.categorical.flatMap((c) => c.categories.map((v) => `${c.name}=${v}`)),
    ];
    this.namesCache = { state: s, names };
    return names;
  }

  get inputColumns(): string[] {
    const s = this.mustState();
    return [...s.numeric.map((c) => c.name), ...s.categorical.map((c) => c.name)];
  }

  private mustState(): TransformerState {
    if (!this.state) throw new NetsecError("NOT_FITTED", "column transformer is not fitted", {});
    return this.state;
  }

  fit(frame: Frame, o: TransformerOptions): this {
    if (frame.nRows === 0) throw new NetsecError("DATA_INVALID", "cannot fit preprocessing on zero rows", {});
    const numeric = o.numeric.map((name) => {
      const v = frame.numeric(name);
      const present = v.filter((x) => !Number.isNaN(x));
      if (present.length === 0) {
        throw new NetsecError("DATA_INVALID", `column ${name} has no values in the training data`, {
          column: name,
        });
      }
      const sorted = present.slice().sort();
      let fill: number;
      switch (o.imputer) {
        case "most_frequent":
          fill = mostFrequentNumber(present);
          break;
        case "mean":
        case "knn": // KNN falls back to the mean when a row has no donor (as scikit-learn)
          fill = present.reduce((a, b) => a + b, 0) / present.length;
          break;
        default:
          fill = median(sorted);
      }
      // scaler statistics on imputed training values (the order scikit-learn's pipeline applies them)
      let s = 0;
      for (const x of v) s += Number.isNaN(x) ? fill : x;
      const mean = s / v.length;
      let ss = 0;
      for (const x of v) ss += ((Number.isNaN(x) ? fill : x) - mean) ** 2;
      const std = Math.sqrt(ss / v.length);
      return { name, fill, mean, scale: std > 1e-12 * Math.max(1, Math.abs(mean)) ? std : 1 };
    });
    const categorical = o.categorical.map((name) => {
      const c = frame.column(name);
      if (c.kind !== "categorical")
        throw new NetsecError("DATA_INVALID", `column ${name} is not categorical`, { column: name });
      const counts = new Map<string, number>();
      for (const code of c.codes)
        if (code >= 0) counts.set(c.categories[code]!, (counts.get(c.categories[code]!) ?? 0) + 1);
      if (counts.size === 0)
        throw new NetsecError("DATA_INVALID", `column ${name} has no values in the training data`, {
          column: name,
        });
      const categories = [...counts.keys()].sort();
      let fill = categories[0]!;
      for (const k of categories) if (counts.get(k)! > counts.get(fill)!) fill = k;
      return { name, fill, categories };
    });
    let knn: TransformerState["knn"] = null;
    if (o.imputer === "knn" && numeric.length > 0) {
      const rows = Uint32Array.from({ length: frame.nRows }, (_, i) => i);
      if (rows.length > MAX_DONORS) new Rng(o.seed ?? 0).shuffle(rows);
      const take = rows.subarray(0, Math.min(MAX_DONORS, rows.length));
      const cols = numeric.map((c) => frame.numeric(c.name));
      const donors = Array.from(take, (r) => cols.map((v) => v[r]!));
      knn = { k: o.knnNeighbors ?? 3, donors };
    }
    this.state = {
      format: "netsec-column-transformer",
      version: 1,
      numeric,
      categorical,
      imputer: o.imputer,
      knn,
      scale: o.scale ?? true,
    };
    return this;
  }

  /** Transform a frame holding every input column into the model's feature matrix. */
  transform(frame: Frame, shared = false): Matrix {
    const n = frame.nRows;
    const names = this.featureNames;
    const X = allocMatrix(n, names.length, names, shared);
    this.eachColumn(frame, (f) => X.data.subarray(f * n, (f + 1) * n));
    return X;
  }

  /**
   * The feature matrix one column at a time, for a consumer that never holds it whole (a training
   * matrix binned column by column): for each feature f in order, `column(f)` gives a zeroed
   * Float64Array of frame.nRows values to write feature f into, and `done(f, column)` is called once
   * it holds them (the next `column` call may hand the same array out again). Same values as transform.
   */
  eachColumn(
    frame: Frame,
    column: (f: number) => Float64Array,
    done: (f: number, values: Float64Array) => void = () => {},
  ): void {
    const s = this.mustState();
    const n = frame.nRows;
    const numCols = s.numeric.map((c) => {
      if (!frame.has(c.name))
        throw new NetsecError("SCHEMA_MISMATCH", `input is missing column ${c.name}`, { column: c.name });
      return frame.numeric(c.name);
    });
    const catCols = s.categorical.map((c) => {
      if (!frame.has(c.name))
        throw new NetsecError("SCHEMA_MISMATCH", `input is missing column ${c.name}`, { column: c.name });
      const fc = frame.column(c.name);
      if (fc.kind !== "categorical")
        throw new NetsecError("SCHEMA_MISMATCH", `column ${c.name} must be categorical`, { column: c.name });
      return fc;
    });
    // imputation (the columns are copied only when some value is missing)
    let missing = false;
    for (const v of numCols) {
      for (let r = 0; r < n && !missing; r++) missing = Number.isNaN(v[r]!);
      if (missing) break;
    }
    const imputed = missing ? numCols.map((v) => Float64Array.from(v)) : numCols;
    if (missing && s.knn) this.knnImpute(imputed);
    for (let j = 0; j < s.numeric.length; j++) {
      const c = s.numeric[j]!;
      const v = imputed[j]!;
      const out = column(j);
      if (!missing && !s.scale) out.set(v.subarray(0, n));
      else
        for (let r = 0; r < n; r++) {
          const x = Number.isNaN(v[r]!) ? c.fill : v[r]!;
          out[r] = s.scale ? (x - c.mean) / c.scale : x;
        }
      done(j, out);
    }
    let col = s.numeric.length;
    const posOf = new Int32Array(n);
    s.categorical.forEach((c, j) => {
      const fc = catCols[j]!;
      const pos = new Map(c.categories.map((v, i) => [v, i]));
      // map the frame's dictionary to one-hot positions once (-1: unseen at fit, an all-zero row)
      const map = fc.categories.map((v) => pos.get(v) ?? -1);
      const fillPos = pos.get(c.fill)!;
      for (let r = 0; r < n; r++) {
        const code = fc.codes[r]!;
        posOf[r] = code < 0 ? fillPos : map[code]!;
      }
      for (let p = 0; p < c.categories.length; p++) {
        const out = column(col + p);
        for (let r = 0; r < n; r++) if (posOf[r] === p) out[r] = 1;
        done(col + p, out);
      }
      col += c.categories.length;
    });
  }

  private knnImpute(cols: Float64Array[]): void {
    const s = this.state!;
    const { k, donors } = s.knn!;
    const p = cols.length;
    const n = cols[0]?.length ?? 0;
    for (let r = 0; r < n; r++) {
      let anyMissing = false;
      for (let j = 0; j < p; j++) if (Number.isNaN(cols[j]![r]!)) anyMissing = true;
      if (!anyMissing) continue;
      const x = cols.map((c) => c[r]!);
      // nan_euclidean distances to every donor
      const dist = new Float64Array(donors.length);
      for (let d = 0; d < donors.length; d++) {
        const dv = donors[d]!;
        let sum = 0;
        let present = 0;
        for (let j = 0; j < p; j++) {
          const a = x[j]!;
          const b = dv[j] ?? Number.NaN; // NaN is stored as null in JSON
          if (Number.isNaN(a) || Number.isNaN(b)) continue;
          sum += (a - b) ** 2;
          present++;
        }
        dist[d] = present === 0 ? Number.NaN : Math.sqrt((p / present) * sum);
      }
      for (let j = 0; j < p; j++) {
        if (!Number.isNaN(x[j]!)) continue;
        // the k nearest donors that have column j
        const cand: number[] = [];
        for (let d = 0; d < donors.length; d++) {
          const v = donors[d]![j];
          if (v !== null && v !== undefined && !Number.isNaN(v) && !Number.isNaN(dist[d]!)) cand.push(d);
        }
        if (cand.length === 0) {
          cols[j]![r] = s.numeric[j]!.fill;
          continue;
        }
        cand.sort((a, b) => dist[a]! - dist[b]! || a - b);
        const m = Math.min(k, cand.length);
        let sum = 0;
        for (let q = 0; q < m; q++) sum += donors[cand[q]!]![j]!;
        cols[j]![r] = sum / m;
      }
    }
  }

  toJSON(): TransformerState {
    return this.mustState();
  }

  static fromJSON(s: TransformerState): ColumnTransformer {
    if (s?.format !== "netsec-column-transformer" || s.version !== 1) {
      throw new NetsecError(
        "BUNDLE_INVALID",
        "preprocess state is not a netsec column transformer (version 1)",
        {},
      );
    }
    const t = new ColumnTransformer();
    t.state = s;
    return t;
  }
}

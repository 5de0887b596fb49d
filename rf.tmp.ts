import { closePool } from "./src/core/pool.ts";
import { stratifiedSplit } from "./src/datasets/split.ts";
import { RandomForestClassifier } from "./src/models/random-forest.ts";
import { numericCsv, subset } from "./test/helpers/data.ts";

const d = numericCsv("/work/shared/datasets/phishing/phisingData.csv", "Result", "-1");
const sp = stratifiedSplit(d.y, 0.2, 42);
const tr = subset(d, sp.train),
  te = subset(d, sp.test);
for (const threads of [1, 2, 2]) {
  const m = new RandomForestClassifier({ nEstimators: 100, randomState: 1 });
  const t = performance.now();
  await m.fit(tr.X, tr.y, 2, { threads });
  const fitMs = performance.now() - t;
  const proba = m.predictProba(te.X);
  const pred = m.predict(te.X);
  let acc = 0,
    tp = 0,
    fp = 0,
    fn = 0;
  for (let i = 0; i < pred.length; i++) {
    if (pred[i] === te.y[i]) acc++;
    if (pred[i] === 1 && te.y[i] === 1) tp++;
    if (pred[i] === 1 && te.y[i] === 0) fp++;
    if (pred[i] === 0 && te.y[i] === 1) fn++;
  }
  let h = 0;
  for (let i = 0; i < proba.length; i++) h = (h * 31 + Math.round(proba[i]! * 1e6)) % 1e9;
  console.log(
    "threads",
    threads,
    "acc",
    (acc / pred.length).toFixed(4),
    "f1",
    ((2 * tp) / (2 * tp + fp + fn)).toFixed(4),
    "fit ms",
    fitMs.toFixed(0),
    "hash",
    h,
  );
}
await closePool();

import { closePool } from "./src/core/pool.ts";
import { stratifiedSplit } from "./src/datasets/split.ts";
import { createModel } from "./src/models/registry.ts";
import { numericCsv, subset } from "./test/helpers/data.ts";

const d = numericCsv("/work/shared/datasets/phishing/phisingData.csv", "Result", "-1");
const sp = stratifiedSplit(d.y, 0.2, 42);
const tr = subset(d, sp.train),
  te = subset(d, sp.test);
for (const [name, params] of [
  ["decision_tree", {}],
  ["random_forest", { n_estimators: 100 }],
  ["gradient_boosting", { n_estimators: 100 }],
  ["adaboost", { n_estimators: 100 }],
  ["logistic_regression", {}],
] as const) {
  const m = createModel(name, params);
  const t = performance.now();
  const rep = await m.fit(tr.X, tr.y, 2);
  const fitMs = performance.now() - t;
  const t2 = performance.now();
  const pred = m.predict(te.X);
  const pMs = performance.now() - t2;
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
  console.log(
    name.padEnd(20),
    "acc",
    (acc / pred.length).toFixed(4),
    "f1",
    ((2 * tp) / (2 * tp + fp + fn)).toFixed(4),
    "fit ms",
    fitMs.toFixed(0),
    "pred ms",
    pMs.toFixed(1),
    JSON.stringify(rep.counters),
  );
}
await closePool();

"""Peer side of bench/boosting-predict.ts: XGBoost and LightGBM on the matrices netsec wrote.

Usage: python bench/boosting_predict.py <dir> <n_features>
<dir> holds Xtr.f64 / Xte.f64 (row-major float64) and ytr.i32 / yte.i32. Each library: its defaults at
100 trees on 2 threads, predict_proba throughput on the test rows (rows / the fastest of repeated calls
over at least 1 s and 5 calls; and rows per CPU-second of this process, all threads, for the call that
took least) and test F1 at 0.5. Prints one JSON object.
"""
import json
import sys
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import xgboost as xgb
from sklearn.metrics import f1_score

d, p = Path(sys.argv[1]), int(sys.argv[2])
Xtr = np.fromfile(d / "Xtr.f64", dtype=np.float64).reshape(-1, p)
Xte = np.fromfile(d / "Xte.f64", dtype=np.float64).reshape(-1, p)
ytr = np.fromfile(d / "ytr.i32", dtype=np.int32)
yte = np.fromfile(d / "yte.i32", dtype=np.int32)

models = {
    "xgboost": xgb.XGBClassifier(n_estimators=100, tree_method="hist", n_jobs=2, random_state=0),
    "lightgbm": lgb.LGBMClassifier(n_estimators=100, num_leaves=31, n_jobs=2, random_state=0, verbose=-1),
}
out = {}
for name, m in models.items():
    m.fit(Xtr, ytr)
    best = cpu = float("inf")
    until = time.perf_counter() + 1.0
    i = 0
    while i < 5 or time.perf_counter() < until:
        c = time.process_time()
        t = time.perf_counter()
        s = m.predict_proba(Xte)[:, 1]
        best = min(best, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
        i += 1
    out[name] = {
        "predict_rows_per_s": len(Xte) / best,
        "predict_rows_per_cpu_s": len(Xte) / cpu,
        "f1": float(f1_score(yte, (s >= 0.5).astype(int))),
    }
print(json.dumps(out))

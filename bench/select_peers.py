"""The peers' side of bench/select-settings.ts: XGBoost (hist) and LightGBM at 100 trees, everything
else their defaults (issue 15's phishing row: XGBoost 0.9531, LightGBM 0.9419 on split seed 42), on
the rows that script wrote, test F1 of class 1 at 0.5.

Usage: python bench/select_peers.py <dir>
<dir> holds shape.json, Xtr.f64 / Xte.f64 (column-major float64), ytr.i32 / yte.i32.
Prints one JSON object: {"XGBoost": f1, "LightGBM": f1}.
"""

import json
import sys
from pathlib import Path

import lightgbm
import numpy as np
import xgboost
from sklearn.metrics import f1_score

d = Path(sys.argv[1])
shape = json.loads((d / "shape.json").read_text())
p = shape["features"]
Xtr = np.ascontiguousarray(np.fromfile(d / "Xtr.f64", dtype=np.float64).reshape(p, shape["train"]).T)
Xte = np.ascontiguousarray(np.fromfile(d / "Xte.f64", dtype=np.float64).reshape(p, shape["test"]).T)
ytr = np.fromfile(d / "ytr.i32", dtype=np.int32)
yte = np.fromfile(d / "yte.i32", dtype=np.int32)
models = {
    "XGBoost": xgboost.XGBClassifier(n_estimators=100, tree_method="hist", n_jobs=2, random_state=0),
    "LightGBM": lightgbm.LGBMClassifier(n_estimators=100, n_jobs=2, random_state=0, verbose=-1),
}
out = {}
for name, m in models.items():
    m.fit(Xtr, ytr)
    out[name] = float(f1_score(yte, m.predict_proba(Xte)[:, 1] >= 0.5))
print(json.dumps(out))

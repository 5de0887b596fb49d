"""What the peers' scripts share: the rows a bench script wrote, and XGBoost / LightGBM at their defaults.

Rows on disk (written by bench/boosting.ts and bench/select-settings.ts): shape.json ({"features",
"train", "test"}), Xtr.f64 / Xte.f64 (column-major float64), ytr.i32 / yte.i32.
"""

import json
from pathlib import Path

import lightgbm
import numpy as np
import xgboost
from sklearn.metrics import f1_score


def read_rows(d: Path):
    """(Xtr, Xte, ytr, yte): features as C-contiguous (rows, features) float64 arrays."""
    shape = json.loads((d / "shape.json").read_text())
    p = shape["features"]
    # column-major on disk: read as (features, rows) and transpose
    Xtr = np.ascontiguousarray(np.fromfile(d / "Xtr.f64", dtype=np.float64).reshape(p, shape["train"]).T)
    Xte = np.ascontiguousarray(np.fromfile(d / "Xte.f64", dtype=np.float64).reshape(p, shape["test"]).T)
    return Xtr, Xte, np.fromfile(d / "ytr.i32", dtype=np.int32), np.fromfile(d / "yte.i32", dtype=np.int32)


def default_boosters_f1(X, y, Xt, yt) -> dict:
    """Issue 15's peers at their defaults (100 trees, 2 threads): test F1 of class 1 at 0.5."""
    models = {
        "XGBoost": xgboost.XGBClassifier(n_estimators=100, tree_method="hist", n_jobs=2, random_state=0),
        "LightGBM": lightgbm.LGBMClassifier(n_estimators=100, n_jobs=2, random_state=0, verbose=-1),
    }
    out = {}
    for name, m in models.items():
        m.fit(X, y)
        out[name] = float(f1_score(yt, m.predict_proba(Xt)[:, 1] >= 0.5))
    return out

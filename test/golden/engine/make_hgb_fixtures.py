"""Golden fixtures for netsec's hist_gradient_boosting, from scikit-learn's HistGradientBoostingClassifier.

Regenerate: .venv/bin/python test/golden/engine/make_hgb_fixtures.py
Writes test/golden/engine/hgb.json:
- "cases": small fixed data sets (stored: X, y, test X) with missing values (a feature with NaNs at fit,
  and one whose NaNs appear only in the test rows), binary and 3-class, under several parameter sets
  without early stopping or subsampling (the algorithm is then deterministic: same bins, same trees);
  scikit-learn's test probabilities and tree sizes.
- "phishing": test F1 / ROC-AUC at the defaults on the phishing split stored in fixtures.json
  (the tests read the data file from the mirror of ../shared/datasets).
- "early_stopping": a noisy 12,000-row problem (early_stopping "auto" is on above 10,000 rows):
  scikit-learn's iteration count and test log loss.
"""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import f1_score, log_loss, roc_auc_score

HERE = Path(__file__).resolve().parent
MIRROR = HERE.parents[2].parent / "shared" / "datasets"


def make_data(rng, n, k, test=False):
    X = np.empty((n, 6))
    X[:, 0] = np.round(rng.normal(size=n), 3)  # many distinct values: quantile bins
    X[:, 1] = rng.integers(0, 10, n)  # ten values: one bin each
    X[:, 2] = np.round(rng.normal(size=n), 1)  # about 60 values: one bin each
    X[:, 3] = rng.integers(0, 2, n)  # a flag
    X[:, 4] = np.round(rng.random(n), 2)  # noise
    X[:, 5] = np.round(rng.normal(size=n), 2)
    s = 1.2 * X[:, 0] - 0.3 * X[:, 1] + 0.8 * X[:, 2] * X[:, 3] + 0.6 * X[:, 5] + 0.8 * rng.normal(size=n)
    if k == 2:
        y = (s > -1.0).astype(int)
    else:
        y = np.digitize(s, [-2.0, -0.5])
    miss2 = rng.random(n) < 0.15
    X[miss2, 2] = np.nan
    # feature 2's missing rows carry signal: the learned direction matters
    y[miss2 & (rng.random(n) < 0.5)] = 0
    if test:
        X[rng.random(n) < 0.2, 5] = np.nan  # never missing at fit
    return X, y


def nan_list(a):
    return [[None if np.isnan(v) else float(v) for v in row] for row in a]


def cases():
    out = {}
    rng = np.random.default_rng(15)
    for k, n in ((2, 800), (3, 900)):
        X, y = make_data(rng, n, k)
        Xt, yt = make_data(rng, 300, k, test=True)
        params_sets = {
            "defaults": {},
            "shallow_l2": {"max_depth": 3, "l2_regularization": 1.0, "min_samples_leaf": 5, "learning_rate": 0.3, "max_iter": 30},
            "few_bins": {"max_leaf_nodes": 8, "max_bins": 16, "max_iter": 40},
            "balanced": {"class_weight": "balanced", "max_iter": 40},
            "unbounded_leaves": {"max_leaf_nodes": None, "max_depth": 4, "min_samples_leaf": 10, "max_iter": 25},
        }
        for name, params in params_sets.items():
            # with sample weights (class_weight) scikit-learn places quantile bins at weighted
            # percentiles, netsec at unweighted ones: that case uses the columns binned one value per bin
            cols = [1, 2, 3, 4] if "class_weight" in params else list(range(X.shape[1]))
            m = HistGradientBoostingClassifier(early_stopping=False, random_state=0, **params).fit(X[:, cols], y)
            p = m.predict_proba(Xt[:, cols])
            out[f"{k}class_{name}"] = {
                "k": k,
                "columns": cols,
                "params": {**params, "early_stopping": False},
                "n_iter": int(m.n_iter_),
                "leaves": [int(pr.get_n_leaf_nodes()) for it in m._predictors for pr in it],
                "proba": p.tolist(),
                "set": f"data{k}",
            }
        out[f"data{k}"] = {"X": nan_list(X), "y": y.tolist(), "test_X": nan_list(Xt), "test_y": yt.tolist()}
    return out


def phishing():
    fx = json.loads((HERE / "fixtures.json").read_text())
    ph = pd.read_csv(MIRROR / "phishing" / "phisingData.csv")
    X = ph.drop(columns=["Result"]).to_numpy(float)
    y = (ph["Result"].to_numpy() == -1).astype(int)
    tr = np.array(fx["phishing_split"]["train"])
    te = np.array(fx["phishing_split"]["test"])
    m = HistGradientBoostingClassifier(random_state=0).fit(X[tr], y[tr])
    p = m.predict_proba(X[te])[:, 1]
    return {"n_iter": int(m.n_iter_), "f1": float(f1_score(y[te], (p >= 0.5).astype(int))), "roc_auc": float(roc_auc_score(y[te], p))}


def lcg_uniforms(count, seed):
    """u_i in [0, 1) from the 32-bit LCG s <- (1664525 s + 1013904223) mod 2^32: exact in float64,
    so the test regenerates the same numbers in TypeScript instead of reading them from the fixture."""
    out = np.empty(count)
    s = seed
    for i in range(count):
        s = (1664525 * s + 1013904223) % 4294967296
        out[i] = s / 4294967296
    return out


def early_stopping_data():
    """14,000 rows x 3 features: x_j = u1 + u2 + u3 (three uniforms, in that order), the label
    x_0 + 0.5 x_1 + noise > 1.5 · 1.5, noise = 2 (u1 + u2 + u3) (noisy: the validation loss stops
    improving early). Rows 0..11999 train, the rest test."""
    n, p = 14000, 3
    u = lcg_uniforms(n * (p + 1) * 3, 12345).reshape(n, p + 1, 3)
    s = (u[:, :, 0] + u[:, :, 1]) + u[:, :, 2]
    X = s[:, :p]
    y = (X[:, 0] + 0.5 * X[:, 1] + 2 * s[:, p] > 2.25 + 3).astype(int)
    return X, y


def early_stopping():
    X, y = early_stopping_data()
    tr, te = np.arange(12000), np.arange(12000, len(y))
    m = HistGradientBoostingClassifier(random_state=0, max_iter=500).fit(X[tr], y[tr])
    p = m.predict_proba(X[te])
    return {"rows": len(y), "train_rows": 12000, "max_iter": 500, "n_iter": int(m.n_iter_),
            "test_log_loss": float(log_loss(y[te], p)), "positives": int(y.sum()), "y_head": y[:50].tolist()}


out = {"generator": f"scikit-learn {sklearn.__version__}, numpy {np.__version__}", "cases": cases(), "phishing": phishing(), "early_stopping": early_stopping()}
(HERE / "hgb.json").write_text(json.dumps(out) + "\n")
print({k: v for k, v in out["phishing"].items()}, out["early_stopping"]["n_iter"], out["early_stopping"]["test_log_loss"])

"""Golden fixtures for hist_gradient_boosting's min_child_weight, from XGBoost (the parameter's origin).

Regenerate: .venv/bin/python test/golden/engine/make_hgb_xgboost_fixtures.py
Writes test/golden/engine/hgb_xgboost.json: a fixed binary data set (integer features with at most 40
distinct values, no missing values) and, per case, XGBoost's trees and test probabilities.

Where XGBoost's algorithm is netsec's, so the trees must be the same: `tree_method="hist"` with max_bin
256 (every distinct value of these columns its own bin, as scikit-learn's binning gives them: the
training rows are partitioned alike, only the stored cut differs), depth-wise growth to max_depth
with no leaf cap (netsec: max_leaf_nodes null, which takes every positive-gain split up to max_depth,
the same set of splits), Newton leaves −G / (H + reg_lambda) · eta, the split gain
GL²/(HL+λ) + GR²/(HR+λ) − G²/(H+λ), a candidate valid when both children's summed hessian ≥
min_child_weight, no row or column subsampling, one thread; base_score set to the mean label (netsec's
log-odds baseline) rather than XGBoost's own estimate. Not compared (XGBoost differs there or netsec has
no such setting): missing values, gamma, max_delta_step, lossguide growth.
"""
import json
from pathlib import Path

import numpy as np
import xgboost as xgb

HERE = Path(__file__).resolve().parent


def make_data(rng, n):
    X = np.empty((n, 5))
    X[:, 0] = rng.integers(0, 20, n)
    X[:, 1] = rng.integers(0, 6, n)
    X[:, 2] = rng.integers(0, 2, n)
    X[:, 3] = rng.integers(0, 40, n)
    X[:, 4] = rng.integers(0, 10, n)  # noise
    s = 0.25 * (X[:, 0] - 10) + 0.8 * X[:, 2] * (X[:, 1] - 2.5) + 0.05 * (X[:, 3] - 20) + rng.normal(size=n)
    return X, (s > 0).astype(int)


def splits(df, tree):
    """A tree's internal nodes as sorted [feature index, cut] (x < cut goes left)."""
    t = df[(df.Tree == tree) & (df.Feature != "Leaf")]
    return sorted([int(f[1:]), float(c)] for f, c in zip(t.Feature, t.Split))


def main():
    rng = np.random.default_rng(7)
    X, y = make_data(rng, 400)
    Xt, _ = make_data(rng, 200)
    cases = {}
    for name, p in {
        "depth3_mcw1": {"max_depth": 3, "min_child_weight": 1, "n_estimators": 20},
        "depth3_mcw5": {"max_depth": 3, "min_child_weight": 5, "n_estimators": 20},
        "depth5_mcw10": {"max_depth": 5, "min_child_weight": 10, "n_estimators": 15},
    }.items():
        m = xgb.XGBClassifier(
            **p,
            learning_rate=0.3,
            reg_lambda=1.0,
            tree_method="hist",
            max_bin=256,
            grow_policy="depthwise",
            base_score=float(y.mean()),
            n_jobs=1,
        ).fit(X, y)
        df = m.get_booster().trees_to_dataframe()
        cases[name] = {
            "xgboost_params": {**p, "learning_rate": 0.3, "reg_lambda": 1.0},
            "params": {
                "max_iter": p["n_estimators"],
                "max_depth": p["max_depth"],
                "max_leaf_nodes": None,
                "min_samples_leaf": 1,
                "min_child_weight": p["min_child_weight"],
                "learning_rate": 0.3,
                "l2_regularization": 1.0,
                "early_stopping": False,
            },
            "splits": [splits(df, t) for t in range(p["n_estimators"])],
            "proba": m.predict_proba(Xt)[:, 1].astype(float).tolist(),
        }
    out = {
        "xgboost": xgb.__version__,
        "X": X.tolist(),
        "y": y.tolist(),
        "test_X": Xt.tolist(),
        "cases": cases,
    }
    (HERE / "hgb_xgboost.json").write_text(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()

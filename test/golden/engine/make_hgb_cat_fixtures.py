"""Golden fixtures for hist_gradient_boosting's native categorical features, from scikit-learn's
HistGradientBoostingClassifier(categorical_features=[...]).

Regenerate: .venv/bin/python test/golden/engine/make_hgb_cat_fixtures.py
Writes test/golden/engine/hgb_cat.json: small fixed data sets (stored: X, y, test X) with three
categorical columns given by index (codes 0..k-1: a 4-category one with missing values at fit, a
60-category one with rare categories below scikit-learn's MIN_CAT_SUPPORT, a 7-category one without
missing values at fit), two numerical columns; the test rows add missing values and codes never seen at
fit (both go the missing-value way). Binary and 3-class, several parameter sets, no early stopping or
subsampling (deterministic: same bins, same trees): scikit-learn's tree sizes and test probabilities.
"""
import json
from pathlib import Path

import numpy as np
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier

HERE = Path(__file__).resolve().parent
CATEGORICAL = [0, 2, 3]


def make_data(rng, n, k, test=False):
    X = np.empty((n, 5))
    X[:, 0] = rng.integers(0, 4, n)
    X[:, 1] = np.round(rng.normal(size=n), 2)
    # 60 categories, the last ones rare (a geometric-like frequency)
    X[:, 2] = np.minimum(rng.geometric(0.08, n) - 1, 59)
    X[:, 3] = rng.integers(0, 7, n)
    X[:, 4] = np.round(rng.random(n), 2)
    effect2 = np.sin(np.arange(60) * 1.7)  # an unordered effect per category
    effect3 = np.array([0.9, -0.4, 0.0, 1.3, -1.1, 0.5, -0.2])
    s = (
        0.8 * (X[:, 0] == 2) - 0.6 * (X[:, 0] == 0)
        + 1.1 * effect2[X[:, 2].astype(int)]
        + effect3[X[:, 3].astype(int)]
        + 0.7 * X[:, 1]
        + 0.6 * rng.normal(size=n)
    )
    y = (s > 0.1).astype(int) if k == 2 else np.digitize(s, [-0.6, 0.7])
    miss0 = rng.random(n) < 0.12
    X[miss0, 0] = np.nan
    y[miss0 & (rng.random(n) < 0.6)] = 1  # the missing category carries signal
    if test:
        X[rng.random(n) < 0.1, 3] = np.nan  # never missing at fit
        X[rng.random(n) < 0.05, 2] = 77  # unknown at fit
        X[rng.random(n) < 0.05, 0] = 9
    return X, y


def nan_list(a):
    return [[None if np.isnan(v) else float(v) for v in row] for row in a]


def cases():
    out = {}
    rng = np.random.default_rng(2026)
    for k, n in ((2, 1500), (3, 1500)):
        X, y = make_data(rng, n, k)
        Xt, _ = make_data(rng, 400, k, test=True)
        params_sets = {
            "defaults": {"max_iter": 60},
            "small_leaves": {"min_samples_leaf": 5, "max_leaf_nodes": 15, "l2_regularization": 0.5, "max_iter": 40},
            "shallow": {"max_depth": 3, "learning_rate": 0.3, "max_iter": 30},
        }
        for name, params in params_sets.items():
            m = HistGradientBoostingClassifier(
                early_stopping=False, random_state=0, categorical_features=CATEGORICAL, **params
            ).fit(X, y)
            preds = [pr for it in m._predictors for pr in it]
            out[f"{k}class_{name}"] = {
                "k": k,
                "params": {**params, "early_stopping": False, "categorical_features": CATEGORICAL},
                "leaves": [int(pr.get_n_leaf_nodes()) for pr in preds],
                "categorical_splits": int(sum(int(pr.nodes["is_categorical"].sum()) for pr in preds)),
                "proba": m.predict_proba(Xt).tolist(),
                "set": f"data{k}",
            }
        out[f"data{k}"] = {"X": nan_list(X), "y": y.tolist(), "test_X": nan_list(Xt)}
    return out


out = {"generator": f"scikit-learn {sklearn.__version__}, numpy {np.__version__}", "cases": cases()}
(HERE / "hgb_cat.json").write_text(json.dumps(out) + "\n")

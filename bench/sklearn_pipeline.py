"""The original project's approach, for bench/pipeline.ts: KNNImputer(n_neighbors=3) (+ one-hot for
categorical columns), then scikit-learn GridSearchCV over the original's five grids (3-fold stratified
CV, F1 of the threat class, n_jobs=2), the best model by CV score refitted, evaluated on the test file.

Usage: python bench/sklearn_pipeline.py <train.csv> <test.csv> <target column> <comma-separated normal labels>
The CSVs are netsec's own ingested snapshots of the run it is compared with (same split, same rows).
Prints one JSON object: wall seconds per model and in all, best CV F1 and params per model, the winner's
test metrics, and peak RSS of this process and of its largest worker process (MB).
"""

import json
import resource
import sys
import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import AdaBoostClassifier, GradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import KNNImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier


def read_rows(path: str) -> pd.DataFrame:
    """A run's ingested split: Parquet since the DuckDB store (typed columns), CSV before it."""
    return pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)


def main() -> None:
    train_csv, test_csv, target, normal = sys.argv[1], sys.argv[2], sys.argv[3], set(sys.argv[4].split(","))
    t_all = time.perf_counter()
    train, test = read_rows(train_csv), read_rows(test_csv)
    drop = [target] + [c for c in ("difficulty",) if c in train.columns]
    X, Xt = train.drop(columns=drop), test.drop(columns=drop)
    y = (~train[target].astype(str).isin(normal)).to_numpy().astype(int)
    yt = (~test[target].astype(str).isin(normal)).to_numpy().astype(int)
    cat = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    num = [c for c in X.columns if c not in cat]
    pre = ColumnTransformer(
        [("num", KNNImputer(n_neighbors=3), num)]
        + ([("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cat)] if cat else [])
    )
    t = time.perf_counter()
    A = pre.fit_transform(X)
    At = pre.transform(Xt)
    transform_s = time.perf_counter() - t

    grids = {
        "random_forest": (RandomForestClassifier(random_state=0), {"n_estimators": [8, 16, 32, 128, 256]}),
        "decision_tree": (DecisionTreeClassifier(random_state=0), {"criterion": ["gini", "entropy", "log_loss"]}),
        "gradient_boosting": (
            GradientBoostingClassifier(random_state=0),
            {"learning_rate": [0.1, 0.01, 0.05, 0.001], "subsample": [0.6, 0.7, 0.75, 0.85, 0.9], "n_estimators": [8, 16, 32, 64, 128, 256]},
        ),
        "logistic_regression": (Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression(max_iter=1000))]), {}),
        "adaboost": (AdaBoostClassifier(random_state=0), {"learning_rate": [0.1, 0.01, 0.001], "n_estimators": [8, 16, 32, 64, 128, 256]}),
    }
    per = {}
    best_name, best_score, best_est = None, -1.0, None
    for name, (est, grid) in grids.items():
        t = time.perf_counter()
        gs = GridSearchCV(est, grid, cv=StratifiedKFold(3, shuffle=True, random_state=42), scoring="f1", n_jobs=2).fit(A, y)
        per[name] = {"seconds": time.perf_counter() - t, "best_cv_f1": float(gs.best_score_), "best_params": gs.best_params_}
        print(f"{name}: CV F1 {gs.best_score_:.4f} in {per[name]['seconds']:.1f} s", file=sys.stderr, flush=True)
        if gs.best_score_ > best_score:
            best_name, best_score, best_est = name, gs.best_score_, gs.best_estimator_
    p = best_est.predict_proba(At)[:, 1]
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)  # reap the workers so RUSAGE_CHILDREN sees them
    out = {
        "seconds": time.perf_counter() - t_all,
        "transform_seconds": transform_s,
        "per_model": per,
        "winner": best_name,
        "test": {
            "accuracy": float(accuracy_score(yt, p >= 0.5)),
            "f1": float(f1_score(yt, p >= 0.5)),
            "roc_auc": float(roc_auc_score(yt, p)),
        },
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_rss_largest_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "rows": {"train": int(len(y)), "test": int(len(yt))},
        "features": int(A.shape[1]),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()

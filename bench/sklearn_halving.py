"""The default preset's search done by scikit-learn, for the NSL-KDD peak-RSS comparison (issue 14):
KNNImputer(n_neighbors=3) + StandardScaler on numbers, one-hot on categories, then per model
HalvingRandomSearchCV (factor 3, rungs on n/9, n/3, n rows, 3-fold stratified CV, F1 of the threat
class, n_jobs=2) over netsec's documented ranges (src/selection/spaces.ts): HistGradientBoosting
(early stopping on 10% of each fold), RandomForest(150), LogisticRegression; `n_candidates` drawn a
model (netsec's 30 s budget launched 3 a model on NSL-KDD). The best by CV refitted, scored on the test
file.

Usage: python bench/sklearn_halving.py <train> <test> <target column> <comma-separated normal labels>
  [n_candidates]
<train>/<test>: netsec's ingested snapshots (Parquet) of the run it is compared with.
Prints one JSON object: seconds, winner, test F1, and peak RSS of this process and of its largest
worker process (MB).
"""

import json
import resource
import sys
import time

import pandas as pd
from scipy.stats import loguniform, randint, uniform
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.impute import KNNImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import HalvingRandomSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def main() -> None:
    train_path, test_path, target, normal = sys.argv[1], sys.argv[2], sys.argv[3], set(sys.argv[4].split(","))
    n_candidates = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    t_all = time.perf_counter()
    train, test = pd.read_parquet(train_path), pd.read_parquet(test_path)
    drop = [target] + [c for c in ("difficulty",) if c in train.columns]
    X, Xt = train.drop(columns=drop), test.drop(columns=drop)
    y = (~train[target].astype(str).isin(normal)).to_numpy().astype(int)
    yt = (~test[target].astype(str).isin(normal)).to_numpy().astype(int)
    cat = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    num = [c for c in X.columns if c not in cat]
    pre = ColumnTransformer(
        [("num", Pipeline([("impute", KNNImputer(n_neighbors=3)), ("scale", StandardScaler())]), num)]
        + ([("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cat)] if cat else [])
    )
    A = pre.fit_transform(X)
    At = pre.transform(Xt)
    spaces = {
        "hist_gradient_boosting": (
            HistGradientBoostingClassifier(
                max_iter=500, early_stopping=True, validation_fraction=0.1, n_iter_no_change=10, random_state=42
            ),
            {
                "learning_rate": loguniform(0.03, 0.3),
                "max_leaf_nodes": randint(8, 257),
                "max_depth": [None, 4, 6, 8],
                "min_samples_leaf": randint(2, 101),
                "l2_regularization": [0, 0.1, 1, 10],
                "max_features": uniform(0.5, 0.5),
            },
        ),
        "random_forest": (
            RandomForestClassifier(n_estimators=150, random_state=42),
            {
                "max_features": ["sqrt", "log2", 0.2, 0.35, 0.5],
                "min_samples_leaf": randint(1, 9),
                "criterion": ["gini", "entropy"],
            },
        ),
        "logistic_regression": (LogisticRegression(max_iter=300), {"C": loguniform(0.01, 100)}),
    }
    per = {}
    best = (None, -1.0, None)
    n = len(y)
    for name, (est, space) in spaces.items():
        t = time.perf_counter()
        hs = HalvingRandomSearchCV(
            est,
            space,
            n_candidates=n_candidates,
            factor=3,
            min_resources=max(500, n // 9),
            max_resources=n,
            cv=StratifiedKFold(3, shuffle=True, random_state=42),
            scoring="f1",
            n_jobs=2,
            random_state=42,
        ).fit(A, y)
        per[name] = {"seconds": time.perf_counter() - t, "best_cv_f1": float(hs.best_score_)}
        print(f"{name}: CV F1 {hs.best_score_:.4f} in {per[name]['seconds']:.1f} s", file=sys.stderr, flush=True)
        if hs.best_score_ > best[1]:
            best = (name, hs.best_score_, hs.best_estimator_)
    p = best[2].predict_proba(At)[:, 1]
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)  # reap the workers so RUSAGE_CHILDREN sees them
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - t_all,
                "per_model": per,
                "winner": best[0],
                "test_f1": float(f1_score(yt, (p >= 0.5).astype(int))),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "peak_rss_largest_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()

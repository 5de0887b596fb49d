"""How high test F1 goes on a netsec run's own split, with scikit-learn's strongest usual models: the
evidence behind the pipeline issue's "F1 >= 0.96 on the duplicate-aware split" note in BENCHMARKS.md.

For each model: test F1 of the threat class at 0.5, and the best F1 any threshold reaches on the test
set itself (an oracle: chosen on the test labels, so an upper bound no honest pipeline can claim).

Usage: python bench/sklearn_ceiling.py <train.csv> <test.csv> <target column> <comma-separated normal labels>
Prints one JSON object: {model: {"f1": ..., "f1_best_threshold": ...}, ...}.
"""

import json
import sys

import numpy as np
import pandas as pd
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_curve
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC


def best_f1(y: np.ndarray, s: np.ndarray) -> float:
    p, r, _ = precision_recall_curve(y, s)
    f = 2 * p * r / np.maximum(p + r, 1e-12)
    return float(f.max())


def main() -> None:
    train_csv, test_csv, target, normal = sys.argv[1], sys.argv[2], sys.argv[3], set(sys.argv[4].split(","))
    train, test = pd.read_csv(train_csv), pd.read_csv(test_csv)
    X, Xt = train.drop(columns=[target]).to_numpy(float), test.drop(columns=[target]).to_numpy(float)
    y = (~train[target].astype(str).isin(normal)).to_numpy().astype(int)
    yt = (~test[target].astype(str).isin(normal)).to_numpy().astype(int)
    models = {
        "RandomForest(500)": RandomForestClassifier(n_estimators=500, random_state=0, n_jobs=2),
        "RandomForest(500, max_features=None)": RandomForestClassifier(
            n_estimators=500, max_features=None, random_state=0, n_jobs=2
        ),
        "ExtraTrees(500)": ExtraTreesClassifier(n_estimators=500, random_state=0, n_jobs=2),
        "HistGradientBoosting()": HistGradientBoostingClassifier(random_state=0),
        "HistGradientBoosting(lr=0.05, 500 iter)": HistGradientBoostingClassifier(
            learning_rate=0.05, max_iter=500, random_state=0
        ),
        "GradientBoosting(300, depth 5)": GradientBoostingClassifier(n_estimators=300, max_depth=5, random_state=0),
        "SVC(rbf)": make_pipeline(StandardScaler(), SVC(random_state=0)),
        "KNeighbors(5)": KNeighborsClassifier(5),
        "LogisticRegression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    }
    out = {}
    for name, m in models.items():
        m.fit(X, y)
        # SVC: its decision function (the threshold 0 is its own); the others: P(threat) at 0.5
        if hasattr(m, "predict_proba"):
            s, cut = m.predict_proba(Xt)[:, 1], 0.5
        else:
            s, cut = m.decision_function(Xt), 0.0
        out[name] = {"f1": float(f1_score(yt, s >= cut)), "f1_best_threshold": best_f1(yt, s)}
        print(f"  {name}: F1 {out[name]['f1']:.4f}, best threshold on test {out[name]['f1_best_threshold']:.4f}", file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

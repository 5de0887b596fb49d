"""The reference side of bench/scale.ts: pandas + scikit-learn doing the work of `netsec train --models
random_forest --params '{"n_estimators":100}'` on the scale file: read the headerless NSL-KDD-shaped text
file, one-hot the categorical columns, a stratified 80/20 split (seed 42), RandomForestClassifier(100,
n_jobs=2) fit, predict the test split.

Usage: python bench/sklearn_scale.py <file.txt> <comma-separated column names> <target> <normal labels>
Prints one JSON object: seconds per step and in all, test F1 of the threat class, peak RSS (MB).
"""

import json
import resource
import sys
import time

import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split


def main() -> None:
    path, names, target, normal = sys.argv[1], sys.argv[2].split(","), sys.argv[3], set(sys.argv[4].split(","))
    steps = {}
    t_all = t = time.perf_counter()
    df = pd.read_csv(path, header=None, names=names)
    steps["read"] = time.perf_counter() - t
    t = time.perf_counter()
    y = (~df[target].astype(str).isin(normal)).to_numpy().astype(int)
    X = df.drop(columns=[c for c in (target, "difficulty") if c in df.columns])
    cat = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    X = pd.get_dummies(X, columns=cat, dtype="float64")
    del df
    steps["one_hot"] = time.perf_counter() - t
    t = time.perf_counter()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, stratify=y, random_state=42)
    steps["split"] = time.perf_counter() - t
    t = time.perf_counter()
    rf = RandomForestClassifier(n_estimators=100, n_jobs=2, random_state=0).fit(Xtr, ytr)
    steps["fit"] = time.perf_counter() - t
    t = time.perf_counter()
    pred = rf.predict(Xte)
    steps["predict"] = time.perf_counter() - t
    out = {
        "rows": int(len(y)),
        "features": int(X.shape[1]),
        "seconds": time.perf_counter() - t_all,
        "steps": steps,
        "test_f1": float(f1_score(yte, pred)),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()

"""The reference the pipeline issue names: scikit-learn's RandomForestClassifier(n_estimators=100) on the
same train/test rows as a netsec run (its ingested snapshots), over random_state 0..9, test F1 of the
threat class at 0.5. Used by bench/pipeline.ts.

Usage: python bench/sklearn_rf_reference.py <train.csv> <test.csv> <target column> <comma-separated normal labels>
Prints one JSON object: {"f1": [...], "mean": ..., "min": ..., "max": ...}.
"""

import json
import sys

import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import f1_score
from sklearn.preprocessing import OneHotEncoder


def read_rows(path: str) -> pd.DataFrame:
    """A run's ingested split: Parquet since the DuckDB store (typed columns), CSV before it."""
    return pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)


def main() -> None:
    train_csv, test_csv, target, normal = sys.argv[1], sys.argv[2], sys.argv[3], set(sys.argv[4].split(","))
    train, test = read_rows(train_csv), read_rows(test_csv)
    drop = [target] + [c for c in ("difficulty",) if c in train.columns]
    X, Xt = train.drop(columns=drop), test.drop(columns=drop)
    y = (~train[target].astype(str).isin(normal)).to_numpy().astype(int)
    yt = (~test[target].astype(str).isin(normal)).to_numpy().astype(int)
    cat = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    if cat:
        enc = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(X[cat])
        X = pd.concat([X.drop(columns=cat).reset_index(drop=True), pd.DataFrame(enc.transform(X[cat]))], axis=1)
        Xt = pd.concat([Xt.drop(columns=cat).reset_index(drop=True), pd.DataFrame(enc.transform(Xt[cat]))], axis=1)
    X.columns = X.columns.astype(str)
    Xt.columns = Xt.columns.astype(str)
    f1 = []
    for seed in range(10):
        m = RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=2).fit(X, y)
        f1.append(float(f1_score(yt, m.predict_proba(Xt)[:, 1] >= 0.5)))
    print(json.dumps({"f1": f1, "mean": sum(f1) / len(f1), "min": min(f1), "max": max(f1)}))


if __name__ == "__main__":
    main()

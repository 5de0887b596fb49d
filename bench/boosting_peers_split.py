"""Issue 15's peers at their defaults on one netsec run's train/test rows: XGBoost (hist) and LightGBM
at 100 trees, everything else their defaults, test F1 of the threat class at 0.5 (the issue's table:
phishing XGBoost 0.9531, LightGBM 0.9419 on split seed 42). Used by bench/peers-seeds.ts.

Usage: python bench/boosting_peers_split.py <train.parquet> <test.parquet> <target column> <comma-separated normal labels>
Prints one JSON object: {"XGBoost": f1, "LightGBM": f1}.
"""

import json
import sys

import lightgbm
import pandas as pd
import xgboost
from sklearn.metrics import f1_score


def main() -> None:
    train_path, test_path, target, normal = sys.argv[1], sys.argv[2], sys.argv[3], set(sys.argv[4].split(","))
    train, test = pd.read_parquet(train_path), pd.read_parquet(test_path)
    X, Xt = train.drop(columns=[target]), test.drop(columns=[target])
    if any(not pd.api.types.is_numeric_dtype(X[c]) for c in X.columns):
        raise SystemExit("numeric features only (phishing)")
    y = (~train[target].astype(str).isin(normal)).to_numpy().astype(int)
    yt = (~test[target].astype(str).isin(normal)).to_numpy().astype(int)
    models = {
        "XGBoost": xgboost.XGBClassifier(n_estimators=100, tree_method="hist", n_jobs=2, random_state=0),
        "LightGBM": lightgbm.LGBMClassifier(n_estimators=100, n_jobs=2, random_state=0, verbose=-1),
    }
    out = {}
    for name, m in models.items():
        m.fit(X, y)
        out[name] = float(f1_score(yt, m.predict_proba(Xt)[:, 1] >= 0.5))
    print(json.dumps(out))


if __name__ == "__main__":
    main()

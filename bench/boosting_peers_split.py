"""Issue 15's peers at their defaults on one netsec run's train/test rows: XGBoost (hist) and LightGBM
at 100 trees, everything else their defaults, test F1 of the threat class at 0.5 (the issue's table:
phishing XGBoost 0.9531, LightGBM 0.9419 on split seed 42). Used by bench/peers-seeds.ts.

Usage: python bench/boosting_peers_split.py <train.parquet> <test.parquet> <target column> <comma-separated normal labels>
Prints one JSON object: {"XGBoost": f1, "LightGBM": f1}.
"""

import json
import sys

import pandas as pd
from peer_rows import default_boosters_f1


def main() -> None:
    train_path, test_path, target, normal = sys.argv[1], sys.argv[2], sys.argv[3], set(sys.argv[4].split(","))
    train, test = pd.read_parquet(train_path), pd.read_parquet(test_path)
    X, Xt = train.drop(columns=[target]), test.drop(columns=[target])
    if any(not pd.api.types.is_numeric_dtype(X[c]) for c in X.columns):
        raise SystemExit("numeric features only (phishing)")
    y = (~train[target].astype(str).isin(normal)).to_numpy().astype(int)
    yt = (~test[target].astype(str).isin(normal)).to_numpy().astype(int)
    print(json.dumps(default_boosters_f1(X, y, Xt, yt)))


if __name__ == "__main__":
    main()

"""The peers' side of bench/select-settings.ts: XGBoost (hist) and LightGBM at 100 trees, everything
else their defaults (issue 15's phishing row: XGBoost 0.9531, LightGBM 0.9419 on split seed 42), on
the rows that script wrote, test F1 of class 1 at 0.5.

Usage: python bench/select_peers.py <dir>
<dir> holds the rows bench/peer_rows.py reads. Prints one JSON object: {"XGBoost": f1, "LightGBM": f1}.
"""

import json
import sys
from pathlib import Path

from peer_rows import default_boosters_f1, read_rows

Xtr, Xte, ytr, yte = read_rows(Path(sys.argv[1]))
print(json.dumps(default_boosters_f1(Xtr, ytr, Xte, yte)))

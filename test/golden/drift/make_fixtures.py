"""Golden fixtures for netsec's drift statistics, from scipy (see scripts/requirements-dev.txt).

Regenerate: .venv/bin/python test/golden/drift/make_fixtures.py
Writes test/golden/drift/fixtures.json: KS two-sample cases (statistic and p-value of
ks_2samp(method="auto") with the samples as value/count tables), kstwo.sf on a grid covering every branch
of scipy's _kolmogn, chi2_contingency(correction=False) cases, and PSI cases computed with numpy.
"""
import json
import math
from pathlib import Path

import numpy as np
import scipy
from scipy import stats

rng = np.random.default_rng(20261125)


def table(x):
    v, c = np.unique(np.asarray(x, dtype=float), return_counts=True)
    return {"values": v.tolist(), "counts": c.astype(float).tolist()}


ks_cases = []


def ks_case(name, a, b):
    # large continuous samples are rounded to 2 decimals to keep the fixture small (ties are part of
    # what is tested anyway)
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    if len(a) + len(b) > 3000:
        a, b = np.round(a, 2), np.round(b, 2)
    r = stats.ks_2samp(a, b, alternative="two-sided", method="auto")
    ks_cases.append({"name": name, "a": table(a), "b": table(b), "statistic": float(r.statistic), "p_value": float(r.pvalue), "n1": len(a), "n2": len(b)})


# exact regime
ks_case("equal sizes, normal shift", rng.normal(0, 1, 200), rng.normal(0.3, 1, 200))
ks_case("equal sizes, same distribution", rng.normal(0, 1, 500), rng.normal(0, 1, 500))
ks_case("unequal sizes, coprime", rng.normal(0, 1, 97), rng.normal(0.2, 1.1, 131))
ks_case("unequal sizes, large gcd", rng.normal(0, 1, 300), rng.normal(0.1, 1, 450))
ks_case("unequal, small", rng.uniform(0, 1, 7), rng.uniform(0.2, 1.2, 11))
ks_case("heavy ties {-1,0,1}, equal", rng.choice([-1, 0, 1], 1000, p=[0.4, 0.2, 0.4]), rng.choice([-1, 0, 1], 1000, p=[0.42, 0.18, 0.4]))
ks_case("heavy ties {-1,0,1}, unequal", rng.choice([-1, 0, 1], 2211, p=[0.4, 0.2, 0.4]), rng.choice([-1, 0, 1], 8844, p=[0.4, 0.2, 0.4]))
ks_case("heavy ties, separated", rng.choice([-1, 1], 300, p=[0.8, 0.2]), rng.choice([-1, 1], 400, p=[0.2, 0.8]))
ks_case("identical samples", np.arange(50.0), np.arange(50.0))
ks_case("extreme separation, exact", rng.normal(0, 1, 150), rng.normal(5, 1, 170))
ks_case("exact at the 10000 boundary", rng.normal(0, 1, 10000), rng.normal(0.02, 1, 9000))
ks_case("integers with ties, unequal", rng.poisson(3, 1234), rng.poisson(3.2, 2345))
ks_case("tiny samples", [1.0, 2.0, 3.0], [1.5, 2.5])
ks_case("one value each", [1.0], [2.0])
# asymptotic regime (max(n1, n2) > 10000)
ks_case("asymptotic, small shift", rng.normal(0, 1, 20000), rng.normal(0.01, 1, 15000))
ks_case("asymptotic, moderate shift", rng.normal(0, 1, 30000), rng.normal(0.05, 1, 12000))
ks_case("asymptotic, big shift", rng.normal(0, 1, 25000), rng.normal(0.5, 1, 20000))
ks_case("asymptotic, same distribution", rng.exponential(1, 40000), rng.exponential(1, 22544))
ks_case("asymptotic, very unequal", rng.normal(0, 1, 60000), rng.normal(0.1, 1, 120))
ks_case("asymptotic, heavy ties", rng.choice([0, 1, 2, 3], 126000, p=[0.7, 0.1, 0.1, 0.1]), rng.choice([0, 1, 2, 3], 22544, p=[0.69, 0.11, 0.1, 0.1]))

# kstwo.sf over every branch of _kolmogn
kstwo = []
for n in [1, 2, 5, 10, 50, 140, 141, 500, 5000, 19123, 100001, 250000]:
    for x in [0.0005, 0.002, 0.005, 0.01, 0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.45, 0.5, 0.6, 0.9, 0.99]:
        if n * x * x > 400 and n > 140:
            continue
        kstwo.append({"n": n, "x": x, "sf": float(stats.kstwo.sf(x, n))})

# chi-squared homogeneity (2 x k), without Yates' correction
chi2 = []
for name, t in [
    ("2x2", [[30, 10], [20, 25]]),
    ("2x3", [[120, 45, 35], [100, 60, 40]]),
    ("2x5 unequal totals", [[500, 300, 100, 60, 40], [90, 70, 20, 15, 5]]),
    ("zero cell", [[50, 0, 25], [40, 5, 30]]),
    ("identical proportions", [[100, 200, 300], [10, 20, 30]]),
    ("strong difference", [[900, 50, 50], [100, 450, 450]]),
]:
    r = stats.chi2_contingency(np.array(t), correction=False)
    chi2.append({"name": name, "table": t, "statistic": float(r.statistic), "p_value": float(r.pvalue), "dof": int(r.dof)})

# chi2 survival function on a grid
chi2sf = [{"x": x, "dof": k, "sf": float(stats.chi2.sf(x, k))} for k in [1, 2, 3, 5, 10, 40, 69, 200] for x in [0.01, 0.5, 1, 3, 10, 30, 80, 250]]


# PSI = sum (cur - ref) * ln(cur / ref) over bins, empty bins floored at 1e-4
def psi(ref_counts, cur_counts, eps=1e-4):
    r = np.asarray(ref_counts, float)
    c = np.asarray(cur_counts, float)
    r = np.maximum(r / r.sum(), eps)
    c = np.maximum(c / c.sum(), eps)
    return float(np.sum((c - r) * np.log(c / r)))


psi_cases = [
    {"name": "same", "ref": [10, 20, 30, 40], "cur": [1, 2, 3, 4], "psi": psi([10, 20, 30, 40], [1, 2, 3, 4])},
    {"name": "shifted", "ref": [25, 25, 25, 25], "cur": [10, 20, 30, 40], "psi": psi([25, 25, 25, 25], [10, 20, 30, 40])},
    {"name": "empty bin", "ref": [50, 50, 0], "cur": [40, 40, 20], "psi": psi([50, 50, 0], [40, 40, 20])},
]

out = {
    "generator": f"scipy {scipy.__version__}, numpy {np.__version__}",
    "ks": ks_cases,
    "kstwo_sf": kstwo,
    "chi2_contingency": chi2,
    "chi2_sf": chi2sf,
    "psi": psi_cases,
}
Path(__file__).with_name("fixtures.json").write_text(json.dumps(out, indent=1) + "\n")
print(f"{len(ks_cases)} KS cases, {len(kstwo)} kstwo.sf points, {len(chi2)} chi2 tables")

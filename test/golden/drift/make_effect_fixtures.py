"""Golden fixtures for netsec's drift effect sizes, from scipy (see scripts/requirements-dev.txt).

Regenerate: .venv/bin/python test/golden/drift/make_effect_fixtures.py
Writes test/golden/drift/effect-fixtures.json:
- wasserstein: scipy.stats.wasserstein_distance on samples given as value/count tables (as a stored
  profile keeps them), plus the reference's population std (numpy, ddof=0) used to normalise it;
- jensenshannon: scipy.spatial.distance.jensenshannon(p, q, base=2) on category count vectors.
"""
import json
from pathlib import Path

import numpy as np
import scipy
from scipy import stats
from scipy.spatial.distance import jensenshannon

rng = np.random.default_rng(20261206)


def table(x):
    v, c = np.unique(np.asarray(x, dtype=float), return_counts=True)
    return {"values": v.tolist(), "counts": c.astype(float).tolist()}


wasserstein = []


def w_case(name, a, b):
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    if len(a) + len(b) > 3000:  # keep the fixture small; ties are part of what is tested
        a, b = np.round(a, 2), np.round(b, 2)
    ta, tb = table(a), table(b)
    # scipy on the value/count tables and on the raw samples must agree (weights = counts)
    d = stats.wasserstein_distance(ta["values"], tb["values"], ta["counts"], tb["counts"])
    assert abs(d - stats.wasserstein_distance(a, b)) <= 1e-9 * max(1.0, d)
    wasserstein.append({"name": name, "a": ta, "b": tb, "distance": float(d), "std_a": float(np.std(a))})


w_case("normal shift", rng.normal(0, 1, 500), rng.normal(0.5, 1, 400))
w_case("same distribution", rng.normal(0, 1, 2000), rng.normal(0, 1, 1500))
w_case("scale 1.5", rng.exponential(10, 1000), 1.5 * rng.exponential(10, 1200))
w_case("disjoint supports", rng.uniform(0, 1, 50), rng.uniform(5, 6, 70))
w_case("heavy ties {-1,0,1}", rng.choice([-1, 0, 1], 1000, p=[0.4, 0.2, 0.4]), rng.choice([-1, 0, 1], 800, p=[0.3, 0.2, 0.5]))
w_case("mostly zeros, heavy tail", np.where(rng.random(3000) < 0.6, 0, rng.pareto(1.2, 3000) * 100), np.where(rng.random(2500) < 0.5, 0, rng.pareto(1.2, 2500) * 100))
w_case("one value each", [1.0], [3.5])
w_case("identical", np.arange(40.0), np.arange(40.0))
w_case("negative and large values", rng.normal(-1e6, 1e5, 300), rng.normal(-0.9e6, 1.2e5, 350))

js = []


def js_case(name, p, q):
    p = [float(x) for x in p]
    q = [float(x) for x in q]
    js.append({"name": name, "p": p, "q": q, "distance": float(jensenshannon(p, q, base=2))})


js_case("identical proportions", [10, 20, 30], [1, 2, 3])
js_case("disjoint", [5, 0], [0, 7])
js_case("zero in one sample", [50, 30, 20], [40, 60, 0])
js_case("small shift", [400, 300, 200, 100], [380, 310, 210, 100])
js_case("binary", [900, 100], [700, 300])
js_case("many categories", rng.integers(0, 500, 70).tolist(), rng.integers(0, 500, 70).tolist())
js_case("phishing-like -1/0/1 flipped", [4000, 500, 1500], [1500, 500, 4000])

out = {"generator": f"scipy {scipy.__version__}, numpy {np.__version__}", "wasserstein": wasserstein, "jensenshannon": js}
Path(__file__).with_name("effect-fixtures.json").write_text(json.dumps(out, indent=1) + "\n")
print(f"{len(wasserstein)} Wasserstein cases, {len(js)} Jensen-Shannon cases")

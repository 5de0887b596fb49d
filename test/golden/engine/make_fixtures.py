"""Golden fixtures for netsec's ML engine, from scikit-learn (versions in scripts/requirements-dev.txt).

Regenerate: .venv/bin/python test/golden/engine/make_fixtures.py [--only=thresholds|--only=gb_multiclass|--only=classification|--only=tree_threshold]
Writes test/golden/engine/fixtures.json, thresholds.json, gb_multiclass.json, classification.json and
tree_threshold.json (--only=thresholds: thresholds.json alone, no data files needed; --only=gb_multiclass:
gb_multiclass.json alone; --only=classification: classification.json alone, no data files needed;
--only=tree_threshold: tree_threshold.json alone, no data files needed). The tests read the same data files themselves (the mirror of
../shared/datasets) and take the row indices stored here, so the fixture stays small.
"""
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import AdaBoostClassifier, GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import KNNImputer, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier


def threshold_fixtures():
    """Exact split thresholds on columns with more than 255 distinct values (netsec bins them at
    quantiles), on data made from formulas the tests recompute (no data stored)."""
    n = 3000
    i = np.arange(n)
    # "gap": one feature, a 500-wide hole in the training values right where the classes change
    gap_x = np.where(i < 1234, i, i + 500).astype(float)
    gap_y = ((i >= 1234) ^ (i % 37 == 0)).astype(int)
    # "periodic": one feature, 3000 distinct values, classes in stripes (thresholds inside quantile bins)
    per_x = i * 0.25  # exact in float32, as scikit-learn stores X
    per_y = ((i % 400) < 150).astype(int)
    out = {"n": n, "cases": {}}
    for name, x, y in (("gap", gap_x, gap_y), ("periodic", per_x, per_y)):
        X = x.reshape(-1, 1)
        case = {}
        for depth in (1, 3):
            t = DecisionTreeClassifier(max_depth=depth, random_state=0).fit(X, y).tree_
            case[f"decision_tree_depth{depth}"] = [float(v) for f, v in zip(t.feature, t.threshold) if f >= 0]
        g = GradientBoostingClassifier(n_estimators=1, max_depth=2, random_state=0).fit(X, y).estimators_[0, 0].tree_
        case["gradient_boosting_first_tree_depth2"] = [float(v) for f, v in zip(g.feature, g.threshold) if f >= 0]
        out["cases"][name] = case
    Path(__file__).with_name("thresholds.json").write_text(json.dumps(out) + "\n")
    return out


ROOT = Path(__file__).resolve().parents[3]
MIRROR = ROOT.parent / "shared" / "datasets"


def gb_multiclass_fixtures():
    """Multinomial gradient boosting (GradientBoostingClassifier, friedman_mse, whose Newton step
    carries the (K − 1)/K factor): NSL-KDD's 20% file, numeric columns, label → 5 categories, rows
    0..14999 to train, 15000.. to test. Test accuracy, macro F1 and log loss, after 10 and 60 trees."""
    from sklearn.metrics import accuracy_score, log_loss
    names = [l.split(",")[0] for l in (MIRROR / "nsl-kdd" / "Field Names.csv").read_text().splitlines() if l.strip()]
    kdd = pd.read_csv(MIRROR / "nsl-kdd" / "KDDTrain+_20Percent.txt", header=None, names=names + ["label", "difficulty"])
    dos = "back land neptune pod smurf teardrop".split()
    probe = "ipsweep nmap portsweep satan".split()
    u2r = "buffer_overflow loadmodule perl rootkit".split()
    cat = lambda a: 0 if a == "normal" else 1 if a in dos else 2 if a in probe else 4 if a in u2r else 3
    y = kdd["label"].map(cat).to_numpy()
    num = [n for n in names if n not in ("protocol_type", "service", "flag")]
    X = kdd[num].to_numpy(float)
    tr, te = np.arange(15000), np.arange(15000, len(y))
    res = {"columns": num, "train_rows": [0, 15000], "test_rows": [15000, int(len(y))], "models": {}}
    for n in (10, 60):
        m = GradientBoostingClassifier(n_estimators=n, random_state=0).fit(X[tr], y[tr])
        p = m.predict_proba(X[te])
        res["models"][str(n)] = {"accuracy": float(accuracy_score(y[te], p.argmax(1))), "f1_macro": float(f1_score(y[te], p.argmax(1), average="macro")),
                                 "log_loss": float(log_loss(y[te], p, labels=[0, 1, 2, 3, 4])), "classes": [int(c) for c in m.classes_]}
    Path(__file__).with_name("gb_multiclass.json").write_text(json.dumps(res) + "\n")
    return res


def classification_fixtures():
    """Per-class metrics of a multiclass target (netsec's test_metrics.json `per_class`): scikit-learn's
    classification_report and confusion_matrix with labels = the training classes and zero_division=0,
    on seeded predictions shaped like NSL-KDD's categories, with the cases that matter: a class never
    predicted, a class predicted but absent from the truth, and true labels outside the training
    classes (KDDTest+'s unseen attacks), which have no row but count against the precision of the
    class they are predicted as. Also f1_score(average="macro") without labels (classes present in
    y_true or y_pred), the CV scoring f1_macro, on integer classes with one class absent from both."""
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix
    rng = np.random.default_rng(20261205)
    classes = ["dos", "ftp_write", "normal", "probe", "r2l", "u2r"]
    n = 800
    # truth: mostly training classes (ftp_write never occurs), some unseen labels
    truth_pool = ["dos"] * 30 + ["normal"] * 40 + ["probe"] * 12 + ["r2l"] * 8 + ["u2r"] * 2 + ["mailbomb"] * 5 + ["apache2"] * 3
    y_true = rng.choice(truth_pool, n)
    # predictions: right 70% of the time for training classes; otherwise any class but u2r (never predicted)
    wrong = ["dos", "ftp_write", "normal", "probe", "r2l"]
    y_pred = np.array([t if t in classes and t != "u2r" and rng.random() < 0.7 else rng.choice(wrong) for t in y_true])
    rep = classification_report(y_true, y_pred, labels=classes, output_dict=True, zero_division=0)
    out = {"classes": classes, "y_true": y_true.tolist(), "y_pred": y_pred.tolist(),
           "per_class": {c: {k: float(rep[c][k]) for k in ("precision", "recall", "f1-score", "support")} for c in classes},
           "macro": {k: float(rep["macro avg"][k]) for k in ("precision", "recall", "f1-score")},
           "weighted": {k: float(rep["weighted avg"][k]) for k in ("precision", "recall", "f1-score")},
           "confusion": confusion_matrix(y_true, y_pred, labels=classes).tolist(),
           "accuracy": float(accuracy_score(y_true, y_pred))}
    # f1_macro as a CV scorer: classes 0..5, class 4 in neither y nor pred
    yi = rng.choice([0, 1, 2, 3, 5], 300, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    pi = np.where(rng.random(300) < 0.75, yi, rng.choice([0, 1, 2, 3], 300))
    out["f1_macro"] = {"y": yi.tolist(), "pred": pi.tolist(), "value": float(f1_score(yi, pi, average="macro"))}
    out["generator"] = f"scikit-learn {sklearn.__version__}, numpy {np.__version__}"
    Path(__file__).with_name("classification.json").write_text(json.dumps(out) + "\n")
    return {k: out[k] for k in ("macro", "weighted", "accuracy")}


def tree_threshold_fixtures():
    """Two checks on data stored in the fixture (small, made here from a seed).
    separable_tree: a deep DecisionTreeClassifier (no limits) on a linearly separable two-class problem
    (3 features, class = x0 + 0.6·x1 > 0.2, rows within 0.05 of the boundary left out; values on a 1/4096
    grid, exact in float32 as scikit-learn stores X): its nodes (feature, threshold, depth-first),
    training accuracy and held-out predictions. The tree is the same for random_state 0..29 (checked
    here): no two splits tie, so any exact CART must grow it.
    thresholds: decision thresholds on scores shaped like out-of-fold probabilities. max_f1: F1 from
    precision_recall_curve, argmax over its thresholds (with every threshold within 1e-12 of the best
    F1); target_fpr: from roc_curve (drop_intermediate=False), the largest TPR with FPR <= target, and
    the lowest threshold that has it (netsec's rule: the most flagged rows at that TPR), with its FPR."""
    from sklearn.metrics import precision_recall_curve, roc_curve
    nodes_of = lambda t: [(int(f), float(v)) for f, v in zip(t.tree_.feature, t.tree_.threshold)]
    tr, te = slice(0, 300), slice(300, 500)
    # the first seed whose data has no tied splits (about one in three has some)
    for seed in range(20261206, 20261306):
        rng = np.random.default_rng(seed)
        X = np.round(rng.uniform(-2, 2, (4000, 3)) * 4096) / 4096
        margin = X[:, 0] + 0.6 * X[:, 1] - 0.2
        keep = np.abs(margin) > 0.05
        X, yy = X[keep][:500], (margin[keep][:500] > 0).astype(int)
        trees = [DecisionTreeClassifier(random_state=rs).fit(X[tr], yy[tr]) for rs in range(30)]
        t = trees[0]
        nodes = nodes_of(t)
        if all(nodes_of(o) == nodes for o in trees[1:]):
            break
    else:
        raise SystemExit("no tie-free data among 100 seeds")
    rng = np.random.default_rng(20261207)
    out = {"separable_tree": {"seed": seed,
        "X_train": X[tr].tolist(), "y_train": yy[tr].tolist(), "X_test": X[te].tolist(), "y_test": yy[te].tolist(),
        "feature": [f for f, _ in nodes], "threshold": [v if f >= 0 else None for f, v in nodes],
        "node_count": int(t.tree_.node_count), "depth": int(t.get_depth()),
        "train_accuracy": float(t.score(X[tr], yy[tr])), "test_accuracy": float(t.score(X[te], yy[te])),
        "predictions": t.predict(X[te]).astype(int).tolist()}}

    def f1_curve(y, s):
        p, r, th = precision_recall_curve(y, s)
        p, r = p[: len(th)], r[: len(th)]
        f1 = np.divide(2 * p * r, p + r, out=np.zeros_like(p), where=(p + r) > 0)
        i = int(np.argmax(f1))
        return {"f1": float(f1[i]), "threshold": float(th[i]),
                "tied_thresholds": sorted(float(v) for v in th[np.abs(f1 - f1[i]) <= 1e-12])}

    def fpr_point(y, s, target):
        fpr, tpr, th = roc_curve(y, s, drop_intermediate=False)
        ok = fpr <= target
        best = float(tpr[ok].max())
        at = np.flatnonzero(ok & (tpr == best))
        lo = at[np.argmin(th[at])]
        # th[0] is +inf (nothing flagged): the budget is met by no other point
        return {"target": target, "tpr": best, "threshold": float(th[lo]) if np.isfinite(th[lo]) else None,
                "fpr": float(fpr[lo]), "fpr_tightest": float(fpr[at].min())}

    cases = {}
    # scores rounded to 2 decimals (many ties), 30% threats
    y = (rng.random(1000) < 0.3).astype(int)
    s = np.round(np.clip(0.3 * y + rng.beta(2, 3, 1000) * 0.75, 0, 1), 2)
    cases["rounded"] = (y, s, [0.0, 0.01, 0.05, 0.2])
    # a forest of 8 trees: multiples of 1/8, some threats at 0, and 6 benign rows at 1 (every tree
    # calls them threats): more than 1% of the benign rows, so FPR 0 and 0.01 are met by no threshold
    y = (rng.random(800) < 0.4).astype(int)
    s = rng.binomial(8, np.where(y == 1, 0.7, 0.25)) / 8
    s[np.flatnonzero(y == 0)[:6]] = 1.0
    cases["forest"] = (y, s, [0.0, 0.01, 0.02, 0.1, 0.3])
    # rare threats, continuous scores (6 decimals: next to no ties)
    y = (rng.random(3000) < 0.02).astype(int)
    s = np.round(1 / (1 + np.exp(-(rng.normal(0, 1, 3000) + 2.5 * y - 3))), 6)
    cases["rare"] = (y, s, [0.0, 0.001, 0.01, 0.05])
    # two thresholds with the same F1 (2/3: one of two threats alone, or both with two benign rows)
    cases["f1_tie"] = (np.array([1, 0, 0, 1, 0]), np.array([0.9, 0.8, 0.7, 0.6, 0.1]), [0.0, 0.5])
    out["thresholds"] = {name: {"y": y.tolist(), "score": s.tolist(), "max_f1": f1_curve(y, s),
                                "target_fpr": [fpr_point(y, s, t) for t in targets]}
                         for name, (y, s, targets) in cases.items()}
    out["generator"] = f"scikit-learn {sklearn.__version__}, numpy {np.__version__}"
    Path(__file__).with_name("tree_threshold.json").write_text(json.dumps(out) + "\n")
    return {"separable_tree": {k: out["separable_tree"][k] for k in ("node_count", "depth", "train_accuracy", "test_accuracy")},
            "thresholds": {k: (v["max_f1"]["f1"], [(p["target"], p["tpr"], p["fpr"]) for p in v["target_fpr"]]) for k, v in out["thresholds"].items()}}


if "--only=tree_threshold" in sys.argv:
    print(tree_threshold_fixtures())
    sys.exit(0)
if "--only=classification" in sys.argv:
    print(classification_fixtures())
    sys.exit(0)
if "--only=thresholds" in sys.argv:
    print(threshold_fixtures())
    sys.exit(0)
if "--only=gb_multiclass" in sys.argv:
    print(gb_multiclass_fixtures())
    sys.exit(0)
rng = np.random.default_rng(7)
out = {"generator": f"scikit-learn {sklearn.__version__}, numpy {np.__version__}"}

# ---- metrics on random scores with ties
y = rng.integers(0, 2, 500)
s = np.round(rng.random(500) * 0.6 + y * 0.3, 2)  # rounding creates ties
out["metrics"] = {
    "y": y.tolist(),
    "score": s.tolist(),
    "roc_auc": float(roc_auc_score(y, s)),
    "average_precision": float(average_precision_score(y, s)),
    "f1_at_0_5": float(f1_score(y, (s >= 0.5).astype(int))),
}

# ---- phishing: stratified 80/20 split (seed 42), positive = phishing (-1)
ph = pd.read_csv(MIRROR / "phishing" / "phisingData.csv")
X = ph.drop(columns=["Result"]).to_numpy(float)
yp = (ph["Result"].to_numpy() == -1).astype(int)
idx = np.arange(len(yp))
tr, te = train_test_split(idx, test_size=0.2, stratify=yp, random_state=42)
out["phishing_split"] = {"train": sorted(tr.tolist()), "test": sorted(te.tolist())}
tr = np.sort(tr)
te = np.sort(te)
models = {
    "random_forest": (RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=-1), {"n_estimators": 100}),
    "decision_tree": (DecisionTreeClassifier(random_state=0), {}),
    "gradient_boosting": (GradientBoostingClassifier(n_estimators=100, random_state=0), {"n_estimators": 100}),
    "hist_gradient_boosting": (HistGradientBoostingClassifier(max_iter=100, max_depth=3, early_stopping=False, learning_rate=0.1, random_state=0), None),
    "adaboost": (AdaBoostClassifier(n_estimators=100, random_state=0), {"n_estimators": 100}),
    "logistic_regression": (LogisticRegression(), {}),
}
res = {}
for name, (m, params) in models.items():
    Xtr, Xte = X[tr], X[te]
    if name == "logistic_regression":
        sc = StandardScaler().fit(Xtr)
        Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)
    m.fit(Xtr, yp[tr])
    p = m.predict_proba(Xte)[:, 1]
    res[name] = {"params": params, "f1": float(f1_score(yp[te], (p >= 0.5).astype(int))), "roc_auc": float(roc_auc_score(yp[te], p))}
    if name == "decision_tree":
        res[name]["predictions"] = m.predict(Xte).astype(int).tolist()
out["phishing_models"] = res

# ---- logistic regression coefficients (tight tolerance both sides) on standardised phishing rows 0..2999
Xs = StandardScaler().fit_transform(X[:3000])
lr = LogisticRegression(C=0.5, tol=1e-10, max_iter=10000).fit(Xs, yp[:3000])
out["logistic_binary"] = {"rows": 3000, "C": 0.5, "coef": lr.coef_[0].tolist(), "intercept": float(lr.intercept_[0]),
                          "proba_first10": lr.predict_proba(Xs[:10])[:, 1].tolist()}

# multinomial: NSL-KDD 20% file, first 2000 rows, numeric columns, label → category (5 classes)
names = [l.split(",")[0] for l in (MIRROR / "nsl-kdd" / "Field Names.csv").read_text().splitlines() if l.strip()]
kdd = pd.read_csv(MIRROR / "nsl-kdd" / "KDDTrain+_20Percent.txt", header=None, names=names + ["label", "difficulty"], nrows=2000)
cats = {"normal": 0}
dos = "back land neptune pod smurf teardrop".split()
probe = "ipsweep nmap portsweep satan".split()
u2r = "buffer_overflow loadmodule perl rootkit".split()
def cat(a):
    if a == "normal": return 0
    if a in dos: return 1
    if a in probe: return 2
    if a in u2r: return 4
    return 3
yk = kdd["label"].map(cat).to_numpy()
num = [n for n in names if n not in ("protocol_type", "service", "flag")]
Xk = StandardScaler().fit_transform(kdd[num].to_numpy(float))
lrm = LogisticRegression(C=1.0, tol=1e-10, max_iter=20000).fit(Xk, yk)
out["logistic_multinomial"] = {"rows": 2000, "columns": num, "classes": [int(c) for c in lrm.classes_], "coef": lrm.coef_.tolist(), "intercept": lrm.intercept_.tolist(),
                               "proba_first5": lrm.predict_proba(Xk[:5]).tolist()}

# ---- preprocessing on a small matrix with NaNs
M = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, np.nan], [np.nan, 8.5, 9.0], [10.0, 11.0, 12.0], [4.0, 5.0, 6.0], [2.0, np.nan, 1.0]])
out["preprocess"] = {
    "matrix": [[None if np.isnan(v) else v for v in r] for r in M],
    "median": SimpleImputer(strategy="median").fit_transform(M).tolist(),
    "most_frequent": SimpleImputer(strategy="most_frequent").fit_transform(M).tolist(),
    "mean": SimpleImputer(strategy="mean").fit_transform(M).tolist(),
    "knn3": KNNImputer(n_neighbors=3).fit_transform(M).tolist(),
    "scaled_after_median": StandardScaler().fit_transform(SimpleImputer(strategy="median").fit_transform(M)).tolist(),
}
enc = OneHotEncoder(handle_unknown="ignore").fit(np.array([["tcp"], ["udp"], ["icmp"], ["tcp"]]))
out["onehot"] = {"fit": ["tcp", "udp", "icmp", "tcp"], "transform": ["udp", "gre", "tcp"], "categories": enc.categories_[0].tolist(),
                 "result": enc.transform(np.array([["udp"], ["gre"], ["tcp"]])).toarray().tolist()}

Path(__file__).with_name("fixtures.json").write_text(json.dumps(out) + "\n")
threshold_fixtures()
gb_multiclass_fixtures()
classification_fixtures()
tree_threshold_fixtures()
print({k: v for k, v in res.items() if k != "decision_tree"})

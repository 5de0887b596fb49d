"""Load a netsec-exported MLflow model directory (onnx flavor) the way MLflow users do and score rows.

Usage: check_pyfunc.py <model_dir> <case.json> [<model_dir> <case.json> ...]
(several pairs in one process: importing mlflow takes a second or two)

case.json: {"columns": {name: {"kind": "numeric"|"categorical", "values": [...]}},
            "expected_probability": [...], "expected_label": [...], "tol": 1e-5}
Numeric values may be null (missing → NaN); categorical values may be null (missing → "").
Prints one JSON object per pair: {"ok", "max_abs_diff", "label_mismatches", "checker", "inputs", "outputs", ...}.
Run by test/bundle/onnx/mlflow.test.ts; never at runtime.
"""

import json
import sys
import warnings

import numpy as np
import onnx
import pandas as pd

warnings.filterwarnings("ignore")


def check(model_dir: str, case_path: str) -> None:
    with open(case_path) as f:
        case = json.load(f)

    # The ONNX checker with full shape/type inference: the graph is valid ONNX, not only loadable.
    model = onnx.load(f"{model_dir}/model.onnx")
    onnx.checker.check_model(model, full_check=True)

    import mlflow.pyfunc

    pm = mlflow.pyfunc.load_model(model_dir)
    data = {}
    for name, col in case["columns"].items():
        if col["kind"] == "numeric":
            data[name] = np.array([np.nan if v is None else v for v in col["values"]], dtype=np.float64)
        else:
            # object dtype: pandas 3's default string dtype has no numpy .values onnxruntime accepts
            data[name] = pd.Series(["" if v is None else v for v in col["values"]], dtype=object)
    df = pd.DataFrame(data)
    out = pm.predict(df)

    prob = out["probability"].to_numpy(dtype=np.float64)
    expected = np.array(case["expected_probability"], dtype=np.float64)
    diff = np.abs(prob - expected)
    labels = [x.item() if hasattr(x, "item") else x for x in out["label"].tolist()]
    mismatches = [i for i, (a, b) in enumerate(zip(labels, case["expected_label"])) if str(a) != str(b)]
    max_diff = float(np.max(diff)) if len(diff) else 0.0
    tol = case.get("tol", 1e-5)
    print(
        json.dumps(
            {
                "ok": bool(max_diff <= tol and not mismatches and len(prob) == len(expected)),
                "max_abs_diff": max_diff,
                "label_mismatches": mismatches[:20],
                "checker": "ok",
                "columns": list(out.columns),
                "rows": len(out),
                "label_dtype": str(out["label"].dtype),
                "probability_dtype": str(out["probability"].dtype),
                "signature_inputs": [c.name for c in pm.metadata.get_input_schema().inputs],
                "opsets": {o.domain or "ai.onnx": o.version for o in model.opset_import},
            }
        )
    )


def main() -> None:
    args = sys.argv[1:]
    if not args or len(args) % 2:
        sys.exit("usage: check_pyfunc.py <model_dir> <case.json> [...]")
    for i in range(0, len(args), 2):
        check(args[i], args[i + 1])


if __name__ == "__main__":
    main()

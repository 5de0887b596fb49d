"""Score a CSV with a registered model the way MLflow users do: mlflow.pyfunc.load_model(<models:/ URI>).

Usage (MLFLOW_TRACKING_URI in the environment): mlflow_champion.py <model uri> <csv>
Columns are typed from the model's signature (double → float64 with "" as NaN, string → object).
Prints one JSON object: {"probability": [...], "label": [...], "run_id": ...}.
Run by test/integration/mlflow.test.ts; never at runtime.
"""

import json
import sys
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")


def main() -> None:
    uri, csv = sys.argv[1], sys.argv[2]
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(uri)
    raw = pd.read_csv(csv, dtype=str, keep_default_na=False)
    data = {}
    for col in model.metadata.get_input_schema().inputs:
        if "string" in str(col.type):
            data[col.name] = pd.Series(raw[col.name].astype(str).tolist(), dtype=object)
        else:
            data[col.name] = pd.to_numeric(raw[col.name].replace("", np.nan), errors="coerce").astype(np.float64)
    out = model.predict(pd.DataFrame(data))
    print(
        json.dumps(
            {
                "probability": out["probability"].astype(float).tolist(),
                "label": [str(x.item() if hasattr(x, "item") else x) for x in out["label"].tolist()],
                "run_id": model.metadata.run_id,
            }
        )
    )


if __name__ == "__main__":
    main()

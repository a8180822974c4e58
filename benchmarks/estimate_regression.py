"""Benchmark: estimated regression performance without labels, assay's DLE vs NannyML's.

Run::

    .venv/bin/python benchmarks/estimate_regression.py           # full
    .venv/bin/python benchmarks/estimate_regression.py --quick   # smoke test

Both estimators get the same inputs: a reference window with features, the model's
out-of-sample predictions (5-fold cross-validation; contiguous folds for the hours of
bike-sharing, where shuffled folds would leak neighbouring hours) and the true targets; then
production windows with features and predictions only. assay also gets the model, as
its monitor has it: :func:`assay.deploy.estimate_regression.edge_reference` refits it
without the reference's edge rows along the columns that move the error most, so that
its loss model sees the error of an extrapolation (NannyML's API has no such input). The score is the error of the
estimated MAE per window against the realised MAE (mean and median over windows), and
whether the realised MAE falls inside each band. "no change" is the baseline that
predicts the reference's MAE for every window.

Real data with shifted windows (``../shared/data/regression``):

* **bike-sharing** ``hour.csv`` in time order: the model and the reference are 2011,
  the windows the 12 months of 2012 (a real shift: more rentals in 2012, a concept
  change DLE cannot see, plus the seasons);
* **wine-quality** red and white, each sorted by ``alcohol``, by ``sulphates`` and by
  ``volatile_acidity``; **diabetes** (scikit-learn's copy, 442 patients) sorted by ``bmi``
  and by ``age``: the lower half is the model's data and the reference, the upper half
  five windows of the rising column (covariate shift, beyond the reference's range of
  that column). Every design is reported; none was used to choose the estimator alone.

The model is scikit-learn's ``HistGradientBoostingRegressor`` (seeded). NannyML (0.13)
runs in its own virtual environment (``benchmarks/.venv-nannyml``, created on first use
with ``pip install nannyml 'pandas<3' statsmodels``: NannyML installs beside pandas 3 but
needs statsmodels, which it does not declare, and pandas < 3 for its own code) as a
subprocess reading the same Parquet files; its DLE uses LightGBM with its defaults.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import markdown_table, write_results
from sklearn.datasets import load_diabetes
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import KFold, cross_val_predict

from assay.deploy.estimate_regression import LossEstimator, edge_reference

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "regression"
WORK = ROOT / "benchmarks" / "_work" / "estimate_regression"
VENV = ROOT / "benchmarks" / ".venv-nannyml"

NANNYML_RUNNER = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
import nannyml as nml

job = json.loads(sys.argv[1])
ref = pd.read_parquet(job["ref"])
cur = pd.read_parquet(job["cur"])
t0 = time.perf_counter()
dle = nml.DLE(feature_column_names=job["features"], y_pred="y_pred", y_true="y_true",
              metrics=["mae"], chunk_number=1)
dle.fit(ref)
out = []
for key, window in cur.groupby("window", sort=True):
    res = dle.estimate(window.drop(columns=["window"])).filter(period="analysis").to_df()
    mae = res["mae"]
    out.append({"window": key, "estimate": float(mae["value"].iloc[0]),
                "low": float(mae["lower_confidence_boundary"].iloc[0]),
                "high": float(mae["upper_confidence_boundary"].iloc[0])})
print(json.dumps({"seconds": time.perf_counter() - t0, "windows": out,
                  "version": nml.__version__}))
"""


def ensure_nannyml() -> Path:
    """Create the NannyML venv on first use; return its python."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run(["python3", "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "nannyml", "pandas<3",
                        "statsmodels"], check=True)
    return python


def bike(quick: bool) -> dict[str, Any]:
    frame = pd.read_csv(DATA / "bike-sharing" / "hour.csv")
    features = ["season", "mnth", "hr", "holiday", "weekday", "workingday", "weathersit",
                "temp", "atemp", "hum", "windspeed"]
    ref, cur = frame[frame["yr"] == 0], frame[frame["yr"] == 1]
    if quick:
        cur = cur[cur["mnth"] <= 3]
    return {"name": "bike-sharing hour, 2011 -> months of 2012", "features": features,
            "ref": ref[features], "y_ref": ref["cnt"].to_numpy(float),
            "cur": cur[features], "y_cur": cur["cnt"].to_numpy(float),
            "window": cur["mnth"].to_numpy(), "time_ordered": True}


def halves(frame: pd.DataFrame, target: str, by: str, name: str,
           quick: bool) -> dict[str, Any]:
    """Covariate shift by sorting on one column: the lower half is the model's data and
    the reference, the upper half five windows of rising ``by``."""
    frame = frame.sort_values(by, kind="stable").reset_index(drop=True)
    features = [c for c in frame.columns if c != target]
    half = len(frame) // 2
    ref, cur = frame.iloc[:half], frame.iloc[half:]
    window = np.arange(len(cur)) * 5 // len(cur) + 1
    if quick:
        cur, window = cur[window <= 2], window[window <= 2]
    return {"name": f"{name}, sorted by {by}", "features": features,
            "ref": ref[features], "y_ref": ref[target].to_numpy(float),
            "cur": cur[features], "y_cur": cur[target].to_numpy(float), "window": window,
            "time_ordered": False}


def wine(colour: str, by: str, quick: bool) -> dict[str, Any]:
    frame = pd.read_csv(DATA / "wine-quality" / f"winequality-{colour}.csv", sep=";")
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    return halves(frame, "quality", by, f"wine-quality {colour}", quick)


def diabetes(by: str, quick: bool) -> dict[str, Any]:
    frame = load_diabetes(as_frame=True, scaled=False).frame
    return halves(frame, "target", by, "diabetes (scikit-learn)", quick)


def predictions(case: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-sample reference predictions (5-fold) and the production predictions."""
    model = HistGradientBoostingRegressor(random_state=0)
    shuffle = not case["time_ordered"]  # time-ordered rows: contiguous folds, no leak
    oos = cross_val_predict(model, case["ref"], case["y_ref"],
                            cv=KFold(5, shuffle=shuffle, random_state=0 if shuffle else None))
    fitted = HistGradientBoostingRegressor(random_state=0).fit(case["ref"], case["y_ref"])
    return oos, fitted.predict(case["cur"])


def run_assay(case: dict[str, Any], oos: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    t0 = time.perf_counter()
    edge = edge_reference(HistGradientBoostingRegressor(random_state=0), case["ref"],
                          case["y_ref"], oos)
    est = LossEstimator().fit(case["ref"], oos, case["y_ref"], edge=edge)
    out = est.estimate(case["cur"], pred, window=case["window"])
    return {"seconds": time.perf_counter() - t0, "reference_mae": est.reference_mae_,
            "estimate": out["estimated_mae"].to_numpy(),
            "low": out["estimated_mae_low"].to_numpy(),
            "high": out["estimated_mae_high"].to_numpy()}


def run_nannyml(case: dict[str, Any], oos: np.ndarray, pred: np.ndarray,
                tag: str) -> dict[str, Any]:
    WORK.mkdir(parents=True, exist_ok=True)
    ref = case["ref"].assign(y_pred=oos, y_true=case["y_ref"])
    cur = case["cur"].assign(y_pred=pred, window=case["window"])
    ref.to_parquet(WORK / f"{tag}_ref.parquet")
    cur.to_parquet(WORK / f"{tag}_cur.parquet")
    job = {"ref": str(WORK / f"{tag}_ref.parquet"), "cur": str(WORK / f"{tag}_cur.parquet"),
           "features": case["features"]}
    proc = subprocess.run([str(ensure_nannyml()), "-c", NANNYML_RUNNER, json.dumps(job)],
                          capture_output=True, text=True, check=True)
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    rows = data["windows"]
    return {"seconds": data["seconds"], "version": data["version"],
            "estimate": np.array([r["estimate"] for r in rows]),
            "low": np.array([r["low"] for r in rows]), "high": np.array([r["high"] for r in rows])}


def evaluate(case: dict[str, Any], tag: str) -> dict[str, Any]:
    oos, pred = predictions(case)
    realised = (pd.Series(np.abs(case["y_cur"] - pred)).groupby(case["window"]).mean()
                .to_numpy())
    results = {"assay": run_assay(case, oos, pred), "nannyml": run_nannyml(case, oos, pred, tag)}
    out: dict[str, Any] = {"name": case["name"], "n_ref": len(oos), "windows": len(realised),
                           "realised": realised}
    baseline = np.abs(results["assay"]["reference_mae"] - realised)
    out["no change"] = {"mean": float(baseline.mean()), "median": float(np.median(baseline))}
    for who, res in results.items():
        err = np.abs(res["estimate"] - realised)
        inside = (res["low"] <= realised) & (realised <= res["high"])
        out[who] = {"mean": float(err.mean()), "median": float(np.median(err)),
                    "coverage": float(inside.mean()), "seconds": res["seconds"],
                    "estimate": res["estimate"]}
        if "version" in res:
            out["nannyml_version"] = res["version"]
    return out


def summary(rows: list[dict[str, Any]]) -> list[str]:
    """The target's verdict per data set and over the covariate-shift designs."""
    shift = [r for r in rows if not r["name"].startswith("bike")]
    met = [r for r in rows if r["assay"]["mean"] <= r["nannyml"]["mean"]]
    ratios = [r["nannyml"]["mean"] / r["assay"]["mean"] for r in shift]
    relative = {who: np.mean([r[who]["mean"] / r["no change"]["mean"] for r in shift])
                for who in ("assay", "nannyml")}
    cover = {who: np.mean([r[who]["coverage"] for r in shift]) for who in ("assay", "nannyml")}
    paired = []
    for r in rows:
        diff = (np.abs(r["assay"]["estimate"] - r["realised"])
                - np.abs(r["nannyml"]["estimate"] - r["realised"]))
        se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
        paired.append(f"{r['name']}: {diff.mean():+.4f} +- {se:.4f}")
    return [
        "Paired difference of the per-window error, assay - NannyML (mean +- its standard "
        "error over the windows; negative = assay closer): " + "; ".join(paired) + ".",
        f"Target (mean error <= NannyML's) met on {len(met)} of {len(rows)} data sets: "
        + "; ".join(r["name"] for r in met) + ".",
        f"Over the {len(shift)} covariate-shift designs (all but bike-sharing): geometric "
        f"mean of the ratio NannyML / assay {np.exp(np.mean(np.log(ratios))):.2f}; mean "
        f"error relative to \"no change\" assay {relative['assay']:.2f}, NannyML "
        f"{relative['nannyml']:.2f}; band covers the realised MAE in "
        f"{cover['assay']:.0%} (assay, 95% band) / {cover['nannyml']:.0%} (NannyML, "
        "+-3 sampling errors) of windows.",
    ]


def render(rows: list[dict[str, Any]]) -> str:
    head = ["data", "windows", "realised MAE (median)", "no change: mean / median error",
            "assay DLE: mean / median error", "NannyML DLE: mean / median error",
            "ratio of means (NannyML / assay)", "band covers realised (assay / NannyML)",
            "seconds (assay / NannyML)"]
    table = []
    for r in rows:
        a, n, b = r["assay"], r["nannyml"], r["no change"]
        table.append([
            r["name"], r["windows"], f"{np.median(r['realised']):.3f}",
            f"{b['mean']:.3f} / {b['median']:.3f}", f"{a['mean']:.3f} / {a['median']:.3f}",
            f"{n['mean']:.3f} / {n['median']:.3f}", f"{n['mean'] / a['mean']:.2f}",
            f"{a['coverage']:.0%} / {n['coverage']:.0%}",
            f"{a['seconds']:.2f} / {n['seconds']:.2f}"])
    per_window = []
    for r in rows:
        for i, real in enumerate(r["realised"]):
            per_window.append([r["name"], i + 1,
                               f"{real:.3f}", f"{r['assay']['estimate'][i]:.3f}",
                               f"{r['nannyml']['estimate'][i]:.3f}"])
    version = next((r["nannyml_version"] for r in rows if "nannyml_version" in r), "?")
    return "\n".join([
        f"Error of the estimated MAE per window against the realised MAE (lower is better), "
        f"assay's `LossEstimator` vs NannyML {version} `DLE` (LightGBM, defaults), same "
        "reference (5-fold out-of-sample predictions of a HistGradientBoostingRegressor; "
        "contiguous folds for bike-sharing's hours, shuffled otherwise) "
        "and windows; assay also refits the same model without the reference's edge rows "
        "(`edge_reference`, as the monitor does with its model) to see the error of an "
        "extrapolation. Bands: assay 95%, NannyML +-3 sampling errors. Time: fit (with "
        "the edge refits) + estimate.",
        "", markdown_table(head, table), "", *summary(rows), "",
        "Per window (realised / assay / NannyML):", "",
        markdown_table(["data", "window", "realised MAE", "assay", "NannyML"], per_window),
        "", "Bike-sharing 2012 is mostly a concept change (more rentals for the same "
        "weather and hour): no label-free estimate can follow it, which is why the "
        "monitor reports realised performance once labels arrive.",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    cases = {"bike": bike(args.quick)}
    for colour in ("red", "white"):
        for by in ("alcohol", "sulphates", "volatile_acidity"):
            cases[f"wine_{colour}_{by}"] = wine(colour, by, args.quick)
    for by in ("bmi", "age"):
        cases[f"diabetes_{by}"] = diabetes(by, args.quick)
    rows = [evaluate(case, tag) for tag, case in cases.items()]
    name = "estimate_regression" + ("-quick" if args.quick else "")
    write_results(name, "Estimated regression performance (DLE): assay vs NannyML",
                  render(rows))


if __name__ == "__main__":
    main()

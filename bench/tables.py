"""Tables: `redes train`'s default model against scikit-learn on every table dataset scikit-learn bundles.

    python -m bench tables [--only diabetes,iris] [--seeds 5] [--skip-sklearn] [--set KEY=VALUE ...] [--json]
                           [--threads 1]

For each dataset and seed s (0..seeds-1), one fixed 80/20 split (sklearn's train_test_split with
random_state=s, stratified for classification) is shared by every model. redes trains with
rd.train.fit_table's defaults on the 80% (it holds out its own validation rows from them) and is scored on
the 20% with rd.predict; scikit-learn's models get the same 80% through a ColumnTransformer
(StandardScaler on numbers, OneHotEncoder on text columns). Scores: R² (regression, averaged over targets,
as sklearn's r2_score) or accuracy (%). Printed: mean, standard deviation and min..max over the seeds.
`--set` passes keyword arguments to fit_table (e.g. --set weight_decay=0 --set patience=0) to measure
alternatives to the defaults. Everything is loaded offline from scikit-learn's bundled files.
"""
import argparse
import json
import statistics
import sys
import time
import warnings

import numpy as np


def _diabetes():
    from sklearn.datasets import load_diabetes
    frame = load_diabetes(as_frame=True, scaled=False).frame
    # Categorical columns, as a user's table would have them: sex as text, age as a band.
    frame["sex"] = np.where(frame["sex"] == 1, "female", "male")
    frame["age_band"] = np.select([frame["age"] < 35, frame["age"] < 55], ["young", "middle"], "senior")
    return frame, ["target"], "regression"


def _breast_cancer():
    from sklearn.datasets import load_breast_cancer
    data = load_breast_cancer(as_frame=True)
    frame = data.frame.copy()
    frame["target"] = np.asarray(data.target_names)[data.target]       # 'malignant' / 'benign'
    return frame, ["target"], "classification"


def _wine():
    from sklearn.datasets import load_wine
    data = load_wine(as_frame=True)
    frame = data.frame.copy()
    frame["target"] = np.asarray(data.target_names)[data.target]
    return frame, ["target"], "classification"


def _iris():
    from sklearn.datasets import load_iris
    data = load_iris(as_frame=True)
    frame = data.frame.copy()
    frame["target"] = np.asarray(data.target_names)[data.target]
    return frame, ["target"], "classification"


def _digits():
    from sklearn.datasets import load_digits
    return load_digits(as_frame=True).frame, ["target"], "classification"     # integer labels 0..9


def _linnerud():
    from sklearn.datasets import load_linnerud
    data = load_linnerud(as_frame=True)
    return data.frame, list(data.target_names), "regression"


DATASETS = {"diabetes": _diabetes, "breast_cancer": _breast_cancer, "wine": _wine, "iris": _iris,
            "digits": _digits, "linnerud": _linnerud}


def sklearn_models(task, text_columns, numeric_columns):
    """name -> unfitted estimator (each a Pipeline with the same column preprocessing)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
    from sklearn.multioutput import MultiOutputRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    def pipe(model):
        columns = ColumnTransformer([("num", StandardScaler(), numeric_columns),
                                     ("cat", OneHotEncoder(handle_unknown="ignore"), text_columns)])
        return make_pipeline(columns, model)
    if task == "regression":
        return {"sklearn LinearRegression": pipe(LinearRegression()), "sklearn Ridge": pipe(Ridge()),
                "sklearn MLPRegressor": pipe(MLPRegressor(random_state=0)),
                "sklearn HistGradientBoosting": pipe(MultiOutputRegressor(HistGradientBoostingRegressor()))}
    return {"sklearn LogisticRegression": pipe(LogisticRegression(max_iter=1000)),
            "sklearn MLPClassifier": pipe(MLPClassifier(random_state=0)),
            "sklearn HistGradientBoosting": pipe(HistGradientBoostingClassifier())}


def score(task, true, pred):
    """R² averaged over targets, or accuracy in percent."""
    from sklearn.metrics import accuracy_score, r2_score
    if task == "regression":
        return float(r2_score(np.asarray(true, dtype=float), np.asarray(pred, dtype=float)))
    return 100.0 * float(accuracy_score(np.asarray(true).astype(str), np.asarray(pred).astype(str)))


def run_redes(train, test, targets, task, seed, overrides):
    import redes as rd
    model, history, report = rd.train.fit_table(train, targets, seed=seed, verbose=False, **overrides)
    pred = rd.predict(model, test.drop(columns=targets))
    return score(task, test[targets].to_numpy() if task == "regression" else test[targets[0]],
                 pred[targets].to_numpy() if task == "regression" else pred[targets[0]]), report


def run_dataset(name, seeds, overrides, skip_sklearn, log):
    from sklearn.model_selection import train_test_split
    frame, targets, task = DATASETS[name]()
    features = [c for c in frame.columns if c not in targets]
    import pandas as pd
    text = [c for c in features if not pd.api.types.is_numeric_dtype(frame[c])]
    numeric = [c for c in features if c not in text]
    scores, seconds, epochs = {}, {}, []
    for seed in range(seeds):
        train, test = train_test_split(frame, test_size=0.2, random_state=seed,
                                       stratify=frame[targets[0]] if task == "classification" else None)
        start = time.perf_counter()
        value, report = run_redes(train, test, targets, task, seed, overrides)
        scores.setdefault("redes default", []).append(value)
        seconds.setdefault("redes default", []).append(time.perf_counter() - start)
        epochs.append(report.get("best_epoch") or report.get("epochs"))
        if skip_sklearn:
            continue
        for model_name, model in sklearn_models(task, text, numeric).items():
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")          # MLP's ConvergenceWarning at its default max_iter
                y = train[targets].to_numpy() if task == "regression" else train[targets[0]]
                if task == "regression" and len(targets) == 1 and "HistGradient" not in model_name:
                    y = y.ravel()
                model.fit(train[features], y)
                pred = model.predict(test[features])
            true = test[targets].to_numpy() if task == "regression" else test[targets[0]]
            scores.setdefault(model_name, []).append(score(task, true, pred))
            seconds.setdefault(model_name, []).append(time.perf_counter() - start)
        log(f"  {name} seed {seed}: " + ", ".join(f"{k} {v[-1]:.3f}" for k, v in scores.items()))
    return {"dataset": name, "task": task, "rows": len(frame), "features": len(features),
            "categorical": text, "metric": "R2" if task == "regression" else "accuracy %",
            "scores": scores, "seconds": seconds, "redes_epochs": epochs}


def summary_lines(results):
    lines = []
    for r in results:
        lines.append(f"{r['dataset']} ({r['rows']} rows, {r['features']} features"
                     + (f", categorical: {', '.join(r['categorical'])}" if r["categorical"] else "")
                     + f"; {r['metric']}, test 20%, {len(r['scores']['redes default'])} seeds)")
        width = max(map(len, r["scores"]))
        digits = 3 if r["task"] == "regression" else 2
        for name, values in r["scores"].items():
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            lines.append(f"  {name:<{width}}  {statistics.mean(values):7.{digits}f} +- {sd:5.{digits}f}"
                         f"  [{min(values):.{digits}f} .. {max(values):.{digits}f}]"
                         f"  {statistics.mean(r['seconds'][name]):6.2f} s")
        lines.append(f"  (redes epochs kept: {r['redes_epochs']})")
    return lines


def _value(text):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench tables", description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated datasets (default: all): " + ",".join(DATASETS))
    parser.add_argument("--seeds", type=int, default=5, help="80/20 splits to average over (default 5)")
    parser.add_argument("--skip-sklearn", action="store_true", help="only redes (while tuning)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a fit_table keyword argument (JSON value), e.g. --set patience=0")
    parser.add_argument("--json", action="store_true", help="machine-readable results on stdout")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS/OpenMP threads for every model (default 1: HistGradientBoosting's OpenMP "
                             "threads slow it 50x on a busy machine, and timings stay comparable)")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(DATASETS)
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        parser.error(f"unknown dataset(s) {', '.join(unknown)}; choose from {', '.join(DATASETS)}")
    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set expects KEY=VALUE, got {item!r}")
        overrides[key] = _value(value)
    log = (lambda msg: print(msg, file=sys.stderr, flush=True))
    import sklearn.ensemble  # noqa: F401  (load its OpenMP runtime first: threadpoolctl limits loaded libraries)
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=args.threads):
        results = [run_dataset(n, args.seeds, overrides, args.skip_sklearn, log) for n in names]
    if args.json:
        json.dump({"overrides": overrides, "results": results}, sys.stdout, indent=1)
        print()
    else:
        print("\n".join(summary_lines(results)))

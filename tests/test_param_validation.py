"""Every public function refuses a bad value of every declared parameter, the same way.

The constraints are declared once on each public function (``validate_params``, or
``_parameter_constraints`` on a class checked when data arrives); this test generates
bad values from them (out of the interval, a wrong type, not among the options, NaN and
infinity for reals) and checks the error: an :class:`InputError` whose ``param`` is the
parameter and whose one-line message names the function and the parameter. A second
test makes every parameter of every public callable either declared or exempt, with a
reason, so that a new parameter cannot slip through unchecked unnoticed.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pytest

import assay
from assay._validation import Constraint, _make
from assay.deploy.streams import ADWIN
from assay.exceptions import InputError

DF = pd.DataFrame({"tag": ["a", "b"]})

#: Public functions and how to call them: required arguments (the values do not matter:
#: parameters are checked before the data) and the name messages give.
CALLS: dict[str, tuple[Callable[..., Any], dict[str, Any], str]] = {
    "agreement": (assay.agreement, {"df": DF}, "agreement"),
    "audit": (assay.audit, {"df": DF, "label": None}, "audit"),
    "augment": (assay.augment, {"df": DF, "modality": "tabular", "label": "tag"}, "augment"),
    "classes_to_revise": (assay.classes_to_revise, {"report": None}, "classes_to_revise"),
    "clean_vs_collect": (assay.clean_vs_collect, {"model": None, "X": None, "y": None},
                         "clean_vs_collect"),
    "compare": (assay.compare, {"eval_a": None, "eval_b": None}, "compare"),
    "consensus": (assay.consensus, {"df": DF}, "consensus"),
    "convention_report": (assay.convention_report, {"df": DF}, "convention_report"),
    "cross_val_predict_proba": (assay.cross_val_predict_proba, {}, "cross_val_predict_proba"),
    "drift": (assay.drift, {"reference": DF, "current": DF}, "drift"),
    "evaluate": (assay.evaluate, {"estimator": None, "X_eval": None, "y_eval": None},
                 "evaluate"),
    "find_label_issues": (assay.find_label_issues, {"labels": None, "pred_probs": None},
                          "find_label_issues"),
    "find_slices": (assay.find_slices, {"df": DF, "errors": None}, "find_slices"),
    "fit_and_evaluate": (
        assay.fit_and_evaluate,
        {"recipe": None, "X_train": None, "y_train": None, "X_eval": None, "y_eval": None},
        "fit_and_evaluate",
    ),
    "learning_curve": (assay.learning_curve, {"model": None, "X": None, "y": None},
                       "learning_curve"),
    "plan_sample": (assay.plan_sample, {"df_items": DF, "n": 1}, "plan_sample"),
    "profile": (assay.profile, {"data": DF}, "profile"),
    "realised_performance": (assay.realised_performance, {"y_true": None, "y_pred": None},
                             "realised_performance"),
    "recommend": (assay.recommend, {"slices": None}, "recommend"),
    "sample_for_labeling": (assay.sample_for_labeling, {"batch_df": DF, "n": 1},
                            "sample_for_labeling"),
    "slice_table": (assay.slice_table, {"df": DF, "y_true": None, "y_pred": None, "by": "tag"},
                    "slice_table"),
    "transcript_agreement": (assay.transcript_agreement, {"df": DF}, "transcript_agreement"),
    "numeric_agreement": (assay.numeric_agreement, {"df": DF}, "numeric_agreement"),
    "set_agreement": (assay.set_agreement, {"df": DF}, "set_agreement"),
    "numeric_consensus": (assay.numeric_consensus, {"df": DF}, "numeric_consensus"),
    "set_consensus": (assay.set_consensus, {"df": DF}, "set_consensus"),
    "set_drift": (assay.set_drift, {"reference": [["a"]], "current": [["a"]]}, "set_drift"),
    "box_agreement": (assay.box_agreement, {"boxes": DF}, "box_agreement"),
    "box_consensus": (assay.box_consensus, {"boxes": DF}, "box_consensus"),
    "mean_average_precision": (assay.mean_average_precision,
                               {"labels": DF, "predictions": DF}, "mean_average_precision"),
    "find_transcript_issues": (assay.find_transcript_issues,
                               {"transcripts": None, "hypotheses": None},
                               "find_transcript_issues"),
    "error_counts": (assay.error_counts, {"reference": "a", "hypothesis": "a"},
                     "error_counts"),
    "detection_errors": (assay.detection_errors, {"labels": DF, "predictions": DF},
                         "detection_errors"),
}


def _fit_estimator(**params: Any) -> Any:
    return assay.ConfidenceEstimator(**params).fit(None, None)


#: Public classes whose constructor parameters are checked when data arrives
#: (scikit-learn's convention), and the functions that forward their parameters.
CLASS_CALLS: dict[str, tuple[type, Callable[..., Any], str]] = {
    "ConfidenceEstimator": (assay.ConfidenceEstimator, _fit_estimator,
                            "ConfidenceEstimator.fit"),
    "PageHinkley": (assay.PageHinkley,
                    lambda **p: assay.PageHinkley(**p).update([0.0, 1.0]), "PageHinkley"),
    "page_hinkley": (assay.PageHinkley, lambda **p: assay.page_hinkley([0.0, 1.0], **p),
                     "PageHinkley"),
    "adwin": (ADWIN, lambda **p: assay.adwin([0.0, 1.0], **p), "ADWIN"),
    "LossEstimator": (assay.LossEstimator,
                      lambda **p: assay.LossEstimator(**p).fit(None, None, None),
                      "LossEstimator.fit"),
    "MultilabelConfidenceEstimator": (
        assay.MultilabelConfidenceEstimator,
        lambda **p: assay.MultilabelConfidenceEstimator(**p).fit(None, None),
        "MultilabelConfidenceEstimator.fit"),
}

DATA = "data: its type, shape and values are checked in the body against the other inputs"
FREE = "any value is meaningful (a name, a mapping, an object passed on to another library)"
UNCHECKED = (
    "not checked before issue 13, which changes no behaviour: a constraint would refuse "
    "calls that work today"
)
SEED = "a seed: passed to numpy / scikit-learn, which refuse a bad one"
TASK = "a task kind or Task, refused by the task registry (assay.tasks.get_task)"
FORWARDED = "forwarded to another public function that declares it"
#: Parameters a public function does not declare, and why.
EXEMPT: dict[str, dict[str, str]] = {
    "agreement": {"df": DATA, "classes": DATA, "allow_new": FREE, "ci": FREE,
                  "n_examples": UNCHECKED, "max_disagreements": UNCHECKED},
    "audit": {"df": DATA, "label": DATA, "classes": DATA, "features": DATA, "model": DATA,
              "pred_probs": DATA, "embeddings": DATA, "split": DATA,
              "checks": "names of registered checks, refused by the check registry",
              "seed": SEED, "n_jobs": FREE, "fold_jobs": FREE,
              "modality": "checked by default_model when a default model is needed"},
    "augment": {"label": DATA, "slice_mask": DATA, "id_column": FREE, "column": DATA,
                "columns": DATA, "output_dir": FREE, "sample_rate": DATA,
                "transforms": "names checked one by one against the modality's transforms",
                "snr_db": UNCHECKED, "k_neighbors": UNCHECKED},
    "classes_to_revise": {"report": DATA},
    "clean_vs_collect": {"model": DATA, "X": DATA, "y": DATA, "pred_probs": DATA,
                         "sizes": "checked against the training part of each split (data)",
                         "n_test": UNCHECKED, "seed": SEED, "n_jobs": FREE,
                         "task": TASK, "classes": DATA},
    "compare": {"eval_a": DATA, "eval_b": DATA, "names": FREE, "seed": SEED},
    "consensus": {"df": DATA, "classes": DATA, "allow_new": FREE, "gold": DATA,
                  "pred_probs": DATA},
    "convention_report": {"df": DATA, "fillers": FREE},
    "cross_val_predict_proba": {"X": DATA, "y": DATA, "n_jobs": FREE, "progress": FREE,
                                "modality": "checked by default_model when model is None"},
    "drift": {"reference": DATA, "current": DATA, "columns": DATA, "column_types": DATA,
              "prediction": DATA, "key_columns": DATA,
              "thresholds": "keys and values checked one by one (param='thresholds')",
              "column_thresholds": DATA, "embedding_sample": UNCHECKED,
              "n_permutations": UNCHECKED, "n_mmd_permutations": UNCHECKED,
              "text_embedder": FREE, "seed": SEED},
    "evaluate": {"estimator": DATA, "X_eval": DATA, "y_eval": DATA, "tags": DATA, "ids": DATA,
                 "classes": DATA},
    "find_label_issues": {"labels": DATA, "pred_probs": DATA, "classes": DATA},
    "find_slices": {"errors": DATA, "embeddings": DATA, "n_clusters": UNCHECKED, "seed": SEED},
    "fit_and_evaluate": {"recipe": DATA, "X_train": DATA, "y_train": DATA, "X_eval": DATA,
                         "y_eval": DATA, "train_ids": DATA, "eval_ids": DATA,
                         "train_parent_ids": DATA, "train_digests": DATA,
                         "eval_digests": DATA, "tags": DATA, "classes": DATA,
                         "check_content": FREE},
    "learning_curve": {"model": DATA, "X": DATA, "y": DATA, "train_mask": DATA,
                       "sizes": "checked against the training part of each split (data)",
                       "seed": SEED, "n_jobs": FREE, "label": FREE, "task": TASK,
                       "eval_mask": DATA},
    "plan_sample": {"df_items": DATA, "by": DATA, "prevalence": DATA},
    "profile": {"data": DATA, "columns": DATA,
                "column_types": "kinds checked one by one (param='column_types')",
                "seed": SEED},
    "realised_performance": {"y_true": DATA, "y_pred": DATA, "window": DATA},
    "recommend": {"slices": DATA, "label_issue_rate": DATA},
    "sample_for_labeling": {"batch_df": DATA, "drift_scores": DATA, "confidence": DATA,
                            "seed": SEED},
    "slice_table": {"y_true": DATA, "y_pred": DATA, "hlp": DATA, "sep": FREE, "seed": SEED},
    "transcript_agreement": {"df": DATA, "seed": SEED,
                             "labelbook": "conventions checked by Normalisation.from_dict"},
    "numeric_agreement": {"df": DATA, "ci": FREE},
    "set_agreement": {"df": DATA, "labels": DATA, "allow_new": FREE, "ci": FREE},
    "numeric_consensus": {"df": DATA},
    "set_consensus": {"df": DATA, "labels": DATA, "allow_new": FREE,
                      "options": "the per-label engine's options, checked by consensus"},
    "set_drift": {"reference": DATA, "current": DATA, "name": FREE, "seed": SEED},
    "box_agreement": {"boxes": DATA, "assignments": DATA},
    "box_consensus": {"boxes": DATA, "assignments": DATA,
                      "weights": "one weight per labeler, checked against the labelers (data)"},
    "mean_average_precision": {"labels": DATA, "predictions": DATA, "images": DATA,
                               "by": DATA,
                               "iou_thresholds": "each threshold checked in (0, 1] (data)"},
    "find_transcript_issues": {"transcripts": DATA, "hypotheses": DATA},
    "error_counts": {"reference": DATA, "hypothesis": DATA},
    "word_error_rate": {"reference": DATA, "hypothesis": DATA},
    "character_error_rate": {"reference": DATA, "hypothesis": DATA},
    "transcript_consensus": {"df": DATA, "weighted": FREE},
    "find_box_issues": {"labels": DATA, "predictions": DATA, "classes": DATA},
    "box_issues_per_image": {"issues": DATA},
    "detection_errors": {"labels": DATA, "predictions": DATA, "images": DATA},
    "transcript_agreement_report": {"df": DATA, "labelbook": "conventions checked by "
                                    "Normalisation.from_dict", "tags": DATA, "seed": SEED},
    # functions with nothing to declare: every parameter is data or free
    "agreement_by": {"df": DATA, "column": DATA, "kwargs": FORWARDED},
    "compare_classes": {"reports": DATA},
    "estimate_noise": {"labels": DATA, "pred_probs": DATA, "classes": DATA},
    "annotations_from_matrix": {"matrix": DATA, "classes": DATA, "allow_new": FREE},
    "normalize_annotations": {"df": DATA, "classes": DATA, "allow_new": FREE, "where": FREE,
                              "rows": FREE},
    "parse_label_studio": {"source": DATA, "item_key": FREE, "from_name": DATA,
                           "classes": DATA, "allow_new": FREE, "annotators": DATA},
    "read_annotations": {"path": DATA, "classes": DATA, "allow_new": FREE, "names": FREE,
                         "item_key": FREE, "from_name": DATA, "annotators": DATA},
    "sample_size_for_kappa": {"ci_width": UNCHECKED, "kappa": UNCHECKED, "prevalence": DATA},
    "to_label_studio_tasks": {"sample_df": DATA, "item_col": DATA, "data_cols": DATA,
                              "label_col": DATA, "from_name": FREE, "to_name": FREE,
                              "model_version": FREE, "score_col": DATA},
    "page_hinkley": {"values": DATA, "timestamps": DATA,
                     "params": "PageHinkley's parameters, checked by it"},
    "adwin": {"values": DATA, "timestamps": DATA, "params": "ADWIN's parameters, checked by it"},
}
#: Public classes that take no user parameters to check (results, stores, recipes).
EXEMPT_CLASSES = {
    "AgreementReport", "AuditReport", "CleanVsCollect", "Comparison", "ConsensusResult",
    "ConventionReport", "DatasetDiff", "DatasetVersion", "DriftReport", "Evaluation",
    "LearningCurve", "NoiseEstimate", "NumericAgreementReport", "NumericConsensusResult",
    "SetAgreementReport", "SetConsensusResult", "SetDriftReport", "Profile", "Recipe", "SamplePlan", "SliceReport",
    "SliceTable", "TranscriptAgreement", "Workspace", "BoxAgreementReport",
    "BoxConsensusResult", "DetectionMAP", "TranscriptConsensus", "TranscriptFit",
    "Normalisation",  # a label book's rules: from_dict checks them, tested in collect/
}


def _constraints(name: str) -> dict[str, list[Constraint]]:
    if name in CALLS:
        declared = CALLS[name][0].__assay_constraints__  # type: ignore[attr-defined]
    else:
        declared = CLASS_CALLS[name][0]._parameter_constraints  # type: ignore[attr-defined]
    return {p: [_make(c) for c in cs] for p, cs in declared.items()}


def _bad_values(constraints: list[Constraint]) -> list[Any]:
    """Values no constraint accepts: each constraint's own, plus a wrong type."""
    values = [v for c in constraints for v in c.bad_values()] + [object()]
    return [v for v in values if not any(c.is_satisfied_by(v) for c in constraints)]


def _cases() -> Iterator[Any]:
    for name in [*CALLS, *CLASS_CALLS]:
        for param, constraints in _constraints(name).items():
            for i, value in enumerate(_bad_values(constraints)):
                yield pytest.param(name, param, value, id=f"{name}-{param}-{i}")


def _call(name: str, param: str, value: Any) -> None:
    if name in CALLS:
        func, required, _ = CALLS[name]
        func(**{**required, param: value})
    else:
        CLASS_CALLS[name][1](**{param: value})


@pytest.mark.parametrize(("name", "param", "value"), list(_cases()))
def test_bad_value_of_every_declared_parameter(name: str, param: str, value: Any) -> None:
    caller = CALLS[name][2] if name in CALLS else CLASS_CALLS[name][2]
    with pytest.raises(InputError) as err:
        _call(name, param, value)
    message = str(err.value)
    assert err.value.param == param
    assert message.startswith(f"The '{param}' parameter of {caller} must be "), message
    assert message.endswith(" instead.") and "\n" not in message


def test_every_declared_parameter_has_bad_values() -> None:
    for name in [*CALLS, *CLASS_CALLS]:
        for param, constraints in _constraints(name).items():
            assert _bad_values(constraints), f"{name}: no bad value for {param!r}"


def test_reals_refuse_nan_and_out_of_range_infinity() -> None:
    for bad in (math.nan, math.inf, -1.0):
        with pytest.raises(InputError) as err:
            assay.drift(DF, DF, alpha=bad)
        assert err.value.param == "alpha"
        assert str(err.value) == (
            f"The 'alpha' parameter of drift must be a number in [0.0, 1.0]. Got {bad!r} instead."
        )


def test_valid_values_pass_the_declarations() -> None:
    # defaults satisfy every declaration (else the function could not be called plainly)
    for name in [*CALLS, *CLASS_CALLS]:
        target = CALLS[name][0] if name in CALLS else CLASS_CALLS[name][0]
        defaults = {
            p.name: p.default
            for p in inspect.signature(target).parameters.values()
            if p.default is not inspect.Parameter.empty
        }
        for param, constraints in _constraints(name).items():
            if param in defaults:
                assert any(c.is_satisfied_by(defaults[param]) for c in constraints), (name, param)


def _public_callables() -> Iterator[tuple[str, Any]]:
    for name in sorted(assay.__all__):
        obj = getattr(assay, name)
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            continue
        if callable(obj):
            yield name, obj


def test_every_parameter_is_declared_or_exempt_with_a_reason() -> None:
    problems = []
    for name, obj in _public_callables():
        if inspect.isclass(obj) and name not in CLASS_CALLS:
            if name not in EXEMPT_CLASSES:
                problems.append(f"{name}: a public class neither checked nor exempt")
            continue
        target = obj.__init__ if inspect.isclass(obj) else obj
        params = [p for p in inspect.signature(target).parameters if p != "self"]
        declared = set(_constraints(name)) if name in CALLS or name in CLASS_CALLS else set()
        exempt = EXEMPT.get(name, {})
        for p in params:
            if p in declared and p in exempt:
                problems.append(f"{name}.{p}: both declared and exempt")
            elif p not in declared and not exempt.get(p):
                problems.append(f"{name}.{p}: neither declared nor exempt with a reason")
        problems += [f"{name}.{p}: exempt but no such parameter" for p in exempt if p not in params]
    assert not problems, "\n".join(problems)


def test_every_decorated_public_function_is_exercised() -> None:
    decorated = {n for n, obj in _public_callables() if hasattr(obj, "__assay_constraints__")}
    assert decorated == set(CALLS)

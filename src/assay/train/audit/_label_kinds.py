"""The label check for numeric labels (regression) and label sets (multi-label).

Both are the audit's ``label`` check (same name, same ``is_label_issue`` and
``label_quality`` columns) for another kind of label (:attr:`Check.tasks`): the audit
picks the class that applies to its task. Each gets out-of-sample predictions (given,
or by cross-validation of the given model, averaged over ``n_repeats`` seeded splits)
and hands them to its task's ``find_label_issues``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assay.exceptions import InputError
from assay.train.audit._checks import Check, register_check
from assay.train.audit._context import AuditContext
from assay.train.audit._result import CheckResult, make_result
from assay.train.predict import (
    MODALITIES,
    cross_val_predict_multilabel,
    cross_val_predict_values,
    default_model,
    default_regressor,
)

__all__ = ["MultilabelLabelCheck", "RegressionLabelCheck"]


def _modality(ctx: AuditContext) -> str:
    return ctx.modality if ctx.modality in MODALITIES else "tabular"


def _need_features(ctx: AuditContext) -> np.ndarray:
    if ctx.features is None:
        raise InputError(
            "the label check needs out-of-sample predictions: pass pred_probs= (the "
            "predictions), or features for model= to learn from."
        )
    return ctx.features


def _repeat(predict: Any, n_repeats: int, seed: int) -> np.ndarray:
    """The mean of ``predict(seed)`` over ``n_repeats`` seeds."""
    runs = [np.asarray(predict(seed + r), dtype=np.float64) for r in range(n_repeats)]
    return np.mean(runs, axis=0)


def _result(table: Any, extra: tuple[str, ...], ctx: AuditContext) -> CheckResult:
    return make_result(
        "label",
        table["is_label_issue"].to_numpy(),
        table["label_quality"].to_numpy(),
        score_column="label_quality",
        extra={name: table[name].to_numpy() for name in extra},
        info={k: v for k, v in ctx.cache.items() if k.startswith("label_")},
    )


@register_check
class RegressionLabelCheck(Check):
    """Numeric labels far from the model's out-of-sample prediction and the neighbours'
    labels (:func:`assay.train.labels.find_regression_issues`)."""

    name = "label"
    requires = ("labels", "probs")
    description = "given number far from out-of-sample predictions and neighbours"
    reason = "given label {given!r} looks wrong; the model and neighbours suggest {suggested!r}"
    queue_source = "label_issue"
    tasks = ("regression",)

    def run(self, ctx: AuditContext) -> CheckResult:
        """Robust residuals of the labels against repeated-CV predictions."""
        assert ctx.labels is not None
        n_repeats = int(self.params.get("n_repeats", 3))
        if ctx.pred_probs is not None:
            predictions = np.asarray(ctx.pred_probs, dtype=np.float64)
            ctx.cache["label_probs_source"] = "predictions"
        else:
            model = ctx.model if ctx.model is not None else default_regressor(_modality(ctx))
            X = _need_features(ctx)
            predictions = _repeat(
                lambda s: cross_val_predict_values(model, X, ctx.labels, seed=s,
                                                   n_jobs=ctx.cv_jobs),
                n_repeats, ctx.seed,
            )
            ctx.cache["label_probs_source"] = type(model).__name__
            ctx.cache["label_n_repeats"] = n_repeats
        neighbors = ctx.graph().indices if ctx.features is not None else None
        table = ctx.task.find_label_issues(ctx.labels, predictions, neighbors=neighbors)
        fit = table.attrs.get("fit")
        if fit is not None:
            ctx.cache["label_knn_weight"] = fit.knn_weight
            ctx.cache["label_scale"] = fit.scale
            ctx.cache["label_cut"] = fit.cut
        return _result(table, ("given_label", "suggested_label", "residual"), ctx)


@register_check
class MultilabelLabelCheck(Check):
    """Label sets with a tag the model thinks was omitted or wrongly added
    (co-occurrence-refined probabilities and a set-level cut,
    :func:`assay.train.labels.find_multilabel_issues`)."""

    name = "label"
    requires = ("labels", "probs")
    description = "a tag of the set disagrees with out-of-sample predictions"
    reason = "given labels {given} look wrong; the model suggests {suggested}"
    queue_source = "label_issue"
    tasks = ("multilabel",)

    def run(self, ctx: AuditContext) -> CheckResult:
        """Set-level label issues on repeated-CV probabilities of each label."""
        assert ctx.labels is not None
        n_repeats = int(self.params.get("n_repeats", 3))
        if ctx.pred_probs is not None:
            probs = np.asarray(ctx.pred_probs, dtype=np.float64)
            ctx.cache["label_probs_source"] = "pred_probs"
        else:
            model = ctx.model if ctx.model is not None else default_model(_modality(ctx))
            X = _need_features(ctx)
            probs = _repeat(
                lambda s: cross_val_predict_multilabel(model, X, ctx.labels, seed=s,
                                                       n_jobs=ctx.cv_jobs),
                n_repeats, ctx.seed,
            )
            ctx.cache["label_probs_source"] = type(model).__name__
            ctx.cache["label_n_repeats"] = n_repeats
        table = ctx.task.find_label_issues(ctx.labels, probs, classes=ctx.label_names)
        extra = ("given_label", "suggested_label", "missing_labels", "extra_labels")
        return _result(table, extra, ctx)

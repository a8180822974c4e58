"""The :class:`Evaluation` result object of :func:`assay.train.evaluate.evaluate`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

__all__ = ["METRICS", "Evaluation"]

#: Overall metrics, in report order.
METRICS = ("accuracy", "macro_f1", "balanced_accuracy")


def _py(value: Any) -> Any:
    """A JSON-safe Python scalar (numpy scalars unwrapped, NaN as None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _py(v) for k, v in row.items()} for row in df.to_dict("records")]


def _nan(value: Any) -> float:
    return float("nan") if value is None else float(value)


@dataclass
class Evaluation:
    """Metrics of one fitted model on one evaluation set.

    Attributes
    ----------
    classes : list
        Class labels, in the order of the confusion matrix.
    overall : dict
        ``{metric: {"value", "low", "high", "method"}}`` for :data:`METRICS`.
    per_class : DataFrame of shape (n_classes, 5)
        ``class``, ``precision``, ``recall``, ``f1``, ``support``.
    per_tag : DataFrame
        ``tag``, ``value``, ``n``, ``correct``, ``accuracy``, ``low``, ``high``.
    confusion : array of shape (n_classes, n_classes)
        Rows are true classes, columns predicted classes.
    y_true, y_pred : arrays of shape (n_samples,)
        Given and predicted labels of the evaluation items, in input order.
    ids : array of shape (n_samples,) or None
        Evaluation item ids, used to pair two evaluations.
    duration_s : float or None
        Seconds spent fitting (set by :func:`fit_and_evaluate`).
    info : dict
        Provenance: ``n_boot``, ``seed``, and e.g. ``recipe_hash``, ``n_train``.
    """

    classes: list[Any]
    overall: dict[str, dict[str, Any]]
    per_class: pd.DataFrame
    per_tag: pd.DataFrame
    confusion: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    ids: np.ndarray | None = None
    duration_s: float | None = None
    info: dict[str, Any] = field(default_factory=dict)

    #: The task whose evaluation this is (see :meth:`assay.tasks.Task.evaluate_predictions`).
    kind: ClassVar[str] = "classification"

    @property
    def n(self) -> int:
        """The number of evaluation items."""
        return int(self.y_true.shape[0])

    @property
    def accuracy(self) -> float:
        """Overall accuracy."""
        return float(self.overall["accuracy"]["value"])

    @property
    def correct(self) -> np.ndarray:
        """Boolean array of shape (n_samples,): True where the prediction is right."""
        return np.asarray(self.y_true == self.y_pred, dtype=bool)

    @property
    def item_errors(self) -> np.ndarray:
        """0/1 float array of shape (n_samples,): 1 where the prediction is wrong."""
        return (~self.correct).astype(np.float64)

    def tables(self) -> list[tuple[str, list[str], list[list[Any]]]]:
        """What a face shows beside the metrics: (title, header, rows) per table."""
        worst = self.per_class.sort_values("f1").head(5).to_dict(orient="records")
        rows = [[r["class"], f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}",
                 r["support"]] for r in worst]
        out = [("weakest classes", ["class", "precision", "recall", "F1", "support"], rows)]
        if len(self.per_tag):
            tags = self.per_tag.sort_values("accuracy").to_dict(orient="records")
            tag_rows = [[r["tag"], r["value"], r["n"],
                         f"{r['accuracy']:.3f} [{r['low']:.3f}, {r['high']:.3f}]"] for r in tags]
            out.append(("accuracy per tag", ["tag", "value", "n", "accuracy [interval]"],
                        tag_rows))
        return out

    def summary(self) -> str:
        """A few lines of plain text: overall metrics with intervals, weakest classes."""
        lines = [f"{self.n} evaluation items, {len(self.classes)} classes"]
        for name in METRICS:
            m = self.overall[name]
            lines.append(f"  {name:<18} {m['value']:.4f}  [{m['low']:.4f}, {m['high']:.4f}]")
        worst = self.per_class.sort_values("f1").head(3)
        parts = [f"{c} (F1 {f:.3f})" for c, f in zip(worst["class"], worst["f1"], strict=True)]
        lines.append("  weakest classes: " + ", ".join(parts))
        if self.duration_s is not None:
            lines.append(f"  fit took {self.duration_s:.2f} s")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (NaN as None); :meth:`from_dict` restores the object."""
        return {
            "classes": [_py(c) for c in self.classes],
            "overall": {k: {kk: _py(vv) for kk, vv in v.items()} for k, v in self.overall.items()},
            "per_class": _records(self.per_class),
            "per_tag": _records(self.per_tag),
            "confusion": np.asarray(self.confusion).tolist(),
            "y_true": [_py(v) for v in self.y_true],
            "y_pred": [_py(v) for v in self.y_pred],
            "ids": None if self.ids is None else [_py(v) for v in self.ids],
            "duration_s": _py(self.duration_s),
            "info": {k: _py(v) for k, v in self.info.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evaluation:
        """Rebuild an Evaluation from :meth:`to_dict` output."""
        overall = {
            k: {kk: (vv if kk == "method" else _nan(vv)) for kk, vv in v.items()}
            for k, v in data["overall"].items()
        }
        per_tag = pd.DataFrame(data["per_tag"], columns=_TAG_COLUMNS)
        return cls(
            classes=list(data["classes"]),
            overall=overall,
            per_class=pd.DataFrame(data["per_class"], columns=_CLASS_COLUMNS),
            per_tag=per_tag.astype({c: float for c in ("accuracy", "low", "high")}),
            confusion=np.asarray(data["confusion"], dtype=np.int64),
            y_true=np.asarray(data["y_true"], dtype=object),
            y_pred=np.asarray(data["y_pred"], dtype=object),
            ids=None if data.get("ids") is None else np.asarray(data["ids"], dtype=object),
            duration_s=None if data.get("duration_s") is None else float(data["duration_s"]),
            info=dict(data.get("info") or {}),
        )


_CLASS_COLUMNS = ["class", "precision", "recall", "f1", "support"]
_TAG_COLUMNS = ["tag", "value", "n", "correct", "accuracy", "low", "high"]

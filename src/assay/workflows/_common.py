"""Helpers shared by several workflows: warnings, label checks, recipes, predictions."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from assay.exceptions import InputError
from assay.store.features import model_inputs

if TYPE_CHECKING:
    from assay.store.datasets import DatasetVersion
    from assay.store.workspace import Workspace

__all__ = [
    "collected_warnings",
    "exclusive",
    "modality_of",
    "recipe_model",
    "recipe_predictions",
    "single_class_error",
]


@contextmanager
def collected_warnings(sink: list[str]) -> Iterator[None]:
    """Collect the user warnings raised inside, once each, into ``sink``.

    Also limits BLAS to one thread inside: the fits are small and many, and on a shared
    machine threaded BLAS made a 5-fold logistic regression on the digits 100x slower
    (40 s instead of 0.4 s); parallelism belongs to the folds (``n_jobs``).
    """
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(record=True) as caught, threadpool_limits(limits=1):
        warnings.simplefilter("always", UserWarning)
        yield
    for w in caught:
        text = str(w.message)
        if issubclass(w.category, UserWarning) and text not in sink:
            sink.append(text)


def exclusive(**given: Any) -> None:
    """Refuse two parameters given together: ``exclusive(recipe=r, pred_probs=p)``.

    A parameter counts as given when it is neither ``None`` nor ``False``.

    Raises
    ------
    InputError
        ``give either recipe= or pred_probs= but not both.`` (a flag is written
        ``name=True``). The CLI turns the parameter names into its flags.
    """
    names = [
        f"{name}=True" if value is True else f"{name}="
        for name, value in given.items()
        if value is not None and value is not False
    ]
    if len(names) > 1:
        raise InputError(f"give either {names[0]} or {names[1]} but not both.")


def single_class_error(version: DatasetVersion, labels: np.ndarray) -> None:
    """Raise when a version's labels hold fewer than two classes."""
    classes = pd.unique(pd.Series(labels))
    if len(classes) < 2:
        raise InputError(
            f"{version.ref} has a single class ({classes[0]!r}) in label column "
            f"{version.roles.label!r}; label checks and predictions need at least two classes."
        )


def modality_of(version: DatasetVersion) -> str:
    """The version's modality for recommendations: image, audio, text, else tabular."""
    return version.modality if version.modality in ("image", "audio", "text") else "tabular"


def recipe_model(ws: Workspace, recipe: str | None) -> tuple[Any, str | None]:
    """A fresh model of a registered recipe and the recipe's hash (``None, None`` for none)."""
    if recipe is None:
        return None, None
    spec = ws.recipes.get(recipe)
    return spec.build(), spec.hash


def recipe_predictions(
    ws: Workspace,
    version: DatasetVersion,
    frame: pd.DataFrame,
    recipe: str | None,
    *,
    embeddings: Path | None = None,
    seed: int = 0,
    n_jobs: int | None = 1,
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Out-of-sample predictions of the recipe (or the modality's default model).

    Returns
    -------
    y_pred : ndarray of shape (n_rows,)
    pred_probs : ndarray of shape (n_rows, n_classes), columns in sorted class order
    recipe_hash : str or None
    """
    from assay.train.predict import cross_val_predict_proba

    labels = frame[version.roles.label].to_numpy()
    single_class_error(version, labels)
    model, recipe_hash = recipe_model(ws, recipe)
    spec = ws.recipes.get(recipe) if recipe is not None else None
    caught: list[str] = []
    with collected_warnings(caught):
        X = model_inputs(version, frame, spec, embeddings=embeddings)
        modality = "tabular" if isinstance(X, pd.DataFrame) else "embeddings"
        probs = cross_val_predict_proba(
            model, X, labels, n_jobs=n_jobs, seed=seed, modality=modality
        )
    for text in caught:
        warnings.warn(text, UserWarning, stacklevel=2)
    return np.unique(labels)[np.argmax(probs, axis=1)], probs, recipe_hash

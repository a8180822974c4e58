"""What the checks of one audit share: the inputs and the k-NN graph, computed once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assay.tasks import Task, get_task
from assay.train.audit import neighbors as nb

__all__ = ["AuditContext"]


@dataclass
class AuditContext:
    """What the checks of one audit share: inputs and lazily computed intermediates.

    Attributes
    ----------
    labels : ndarray of shape (n_samples,) or (n_samples, n_labels), or None
        Given labels: integer codes into ``classes`` (classification), numbers
        (regression) or a 0/1 matrix (multi-label), as ``task`` says.
    classes : ndarray of shape (n_classes,) or None
        The classes of a classification (None for other kinds).
    label_names : list or None
        The label of each column of a multi-label ``labels`` matrix.
    features : ndarray of shape (n_samples, n_features) or None
        Features or embeddings used by the neighbour checks (and to fit ``model``).
    pred_probs : ndarray of shape (n_samples, n_classes) or None
        Out-of-sample probabilities given by the user, or computed from ``model``.
    model : scikit-learn classifier or None
    split : ndarray of shape (n_samples,) or None
    seed : int
    n_jobs : int or None
    fold_jobs : int or None
        Parallel folds of the out-of-sample predictions (joblib; default ``n_jobs``):
        with joblib's dask backend, -1 fits every fold on the cluster while the
        neighbour search stays as ``n_jobs`` says.
    modality : str
    space : {"embedding", "tabular"}
        How the neighbour checks see ``features``: tabular features are robustly
        standardised and compared by euclidean distance (see :mod:`assay.train.audit._knn`).
    k : int
        Neighbours per example in the shared k-NN graph.
    knn_backend : {"auto", "sklearn", "hnswlib"}
    cache : dict
        Intermediates shared between checks (the graph) and facts for the summary.
    task : Task
        What a label is; the label check runs its ``find_label_issues`` (default:
        single-label classification).
    """

    labels: np.ndarray | None = None
    classes: np.ndarray | None = None
    label_names: list[Any] | None = None
    features: np.ndarray | None = None
    pred_probs: np.ndarray | None = None
    model: Any = None
    split: np.ndarray | None = None
    seed: int = 0
    n_jobs: int | None = None
    fold_jobs: int | None = None
    modality: str = "tabular"
    space: str = "embedding"
    k: int = 10
    knn_backend: str = "auto"
    cache: dict[str, Any] = field(default_factory=dict)
    task: Task = field(default_factory=get_task)

    @property
    def cv_jobs(self) -> int | None:
        """The joblib ``n_jobs`` of the cross-validation folds."""
        return self.n_jobs if self.fold_jobs is None else self.fold_jobs

    def has(self, need: str) -> bool:
        """Whether the input a check needs is available."""
        if need == "probs":
            return self.labels is not None and (
                self.pred_probs is not None or self.model is not None or self.features is not None
            )
        return getattr(self, need) is not None

    def graph(self, space: str | None = None) -> nb.KnnGraph:
        """The k-NN graph of the features, computed once and shared by the checks.

        Parameters
        ----------
        space : {"embedding", "tabular", "raw"}, optional
            Default: the context's ``space``. ``"raw"``: the features as they are with
            euclidean distance (a candidate of the label check's neighbour votes).
        """
        space = space or self.space
        key = f"graph:{space}"
        if key not in self.cache:
            self.cache[key] = nb.knn_graph(
                self.features,
                k=self.k,
                metric="euclidean" if space == "raw" else "auto",
                space="embedding" if space == "raw" else space,
                backend=self.knn_backend,
                n_jobs=self.n_jobs,
                seed=self.seed,
            )
        graph: nb.KnnGraph = self.cache[key]
        return graph

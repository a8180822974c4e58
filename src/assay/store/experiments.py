"""Experiments: a fixed recipe trained on one data version, measured on a frozen eval set.

An experiment is an analysis of kind ``"experiment"`` (see
:meth:`~assay.store.workspace.Workspace.record_analysis`). Its JSON result holds the
data version (reference and object hash), the recipe (name and hash), the evaluation
set (reference and object hash), the metrics overall / per class / per tag with
intervals and the confusion matrix; the per-item predictions are stored as a Parquet
object beside it, so that two experiments can be compared item by item. Experiments are
numbered ``E1, E2, ...`` per workspace, in the order they were recorded.

Before anything is fitted or written, the evaluation set is checked: no training item
whose id, feature row or augmentation parent is an evaluation item (leakage), no
augmented evaluation rows, no evaluation class unseen in training. For media datasets
(imported from folders, where the id is the file's relative path) an id is confirmed by
content: the SHA-256 of the files is computed at check time, so two corpora that both
hold ``cat/001.png`` leak only if the two files are the same bytes; an identical file
under another name leaks too. Shared names with other content become a note. The
digest over the evaluation files is recorded (``eval_content``), and two experiments
whose evaluation files differ are not compared.

>>> exp = ExperimentStore(ws).run("digits@v1", recipe="digits-logreg", eval_set="digits-test")  # doctest: +SKIP
>>> ExperimentStore(ws).compare("E1", exp.id).summary()                                          # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import re
import textwrap
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
from threadpoolctl import threadpool_limits

from assay.exceptions import InputError, NotFoundError
from assay.store.datasets import GENERATED_ID, DatasetVersion
from assay.store.features import train_eval_inputs
from assay.store.labeling import require_labels
from assay.tasks import get_task
from assay.train.evaluate import (
    AUGMENTED_COLUMN,
    Comparison,
    Evaluation,
    check_leakage,
    check_not_augmented,
    compare,
    find_id_collisions,
    fit_and_evaluate,
)

if TYPE_CHECKING:
    from assay.store.diff import DatasetDiff
    from assay.store.workspace import Workspace
    from assay.tasks import Task
    from assay.tasks.base import Headline, Verdict
    from assay.train.recipe import Recipe

__all__ = [
    "EXPERIMENT_KIND",
    "Experiment",
    "ExperimentComparison",
    "ExperimentStore",
    "check_comparable",
    "feature_columns",
]

#: The analysis kind under which experiments are recorded.
EXPERIMENT_KIND = "experiment"
#: Feature columns up to which a run checks the evaluation set for drift from the
#: training version (raw signals such as pixel columns are left unchecked past it).
SHIFT_CHECK_COLUMNS = 200
_EXPERIMENT_ID = re.compile(r"^[Ee]?(\d+)$")


def feature_columns(version: DatasetVersion, frame: pd.DataFrame | None = None) -> list[str]:
    """The model's feature columns of a tabular version (see
    :func:`assay.store.features.feature_columns`: provenance columns are never features)."""
    from assay.store import features

    return features.feature_columns(version, version.to_pandas() if frame is None else frame)


@dataclass
class Experiment:
    """One recorded experiment.

    Attributes
    ----------
    id : str
        ``"E<number>"``.
    number : int
        Position in the workspace's experiments (1 = first recorded).
    analysis_id : int
        The analysis row that stores it.
    data, data_hash : str
        The training version (``NAME@vN``) and its object hash.
    recipe, recipe_hash : str
        The recipe's name and hash.
    eval_set, eval_hash : str
        The evaluation set's version and its object hash.
    eval_content : str or None
        For an evaluation set of media files: the SHA-256 over its ids and the SHA-256 of
        their files, which the object hash (paths and labels) does not cover.
    evaluation : Evaluation
        Metrics with intervals, confusion matrix and per-item predictions.
    n_train : int
        Training rows (augmented ones included).
    n_augmented : int
        Augmented training rows.
    features : list of str
        The feature columns.
    duration_s : float or None
        Seconds spent fitting.
    created_at : datetime or None
    notes : list of str
        What the checks found but did not refuse (e.g. evaluation files that share a
        name with a training file but not its content).
    task_kind : str or None
        The kind of label (a registered :class:`~assay.tasks.Task`); None: an experiment
        recorded before datasets had kinds (classification).
    """

    id: str
    number: int
    analysis_id: int
    data: str
    data_hash: str
    recipe: str
    recipe_hash: str
    eval_set: str
    eval_hash: str
    evaluation: Evaluation
    n_train: int = 0
    n_augmented: int = 0
    features: list[str] = field(default_factory=list)
    duration_s: float | None = None
    created_at: datetime | None = None
    notes: list[str] = field(default_factory=list)
    eval_content: str | None = None
    task_kind: str | None = None

    @property
    def dataset(self) -> str:
        """The training dataset's name."""
        return self.data.split("@")[0]

    @property
    def task(self) -> Task:
        """What a label of the experiment's data is; it names the headline metric."""
        from assay.tasks import get_task

        return get_task(self.task_kind)  # None: recorded before kinds, classification

    @property
    def headline(self) -> Headline:
        """``(metric, value, interval)`` of the task's headline metric (accuracy for
        classification), from the evaluation's metric table."""
        return self.task.headline(self.evaluation.overall)

    @property
    def accuracy(self) -> dict[str, Any]:
        """``{"value", "low", "high", "method"}`` of the accuracy (classification)."""
        return dict(self.evaluation.overall["accuracy"])

    def to_dict(self, *, predictions: bool = False) -> dict[str, Any]:
        """A JSON-safe dict; with ``predictions`` the per-item predictions too."""
        evaluation = self.evaluation.to_dict()
        if not predictions:
            for key in ("y_true", "y_pred", "ids"):
                evaluation.pop(key, None)
        return {
            "id": self.id,
            "number": self.number,
            "analysis_id": self.analysis_id,
            "data": self.data,
            "data_hash": self.data_hash,
            "recipe": self.recipe,
            "recipe_hash": self.recipe_hash,
            "eval_set": self.eval_set,
            "eval_hash": self.eval_hash,
            "eval_content": self.eval_content,
            "n_train": self.n_train,
            "n_augmented": self.n_augmented,
            "n_eval": self.evaluation.n,
            "features": list(self.features),
            "duration_s": self.duration_s,
            "created_at": None if self.created_at is None else self.created_at.isoformat(),
            "notes": list(self.notes),
            "task": self.task.kind,
            "headline": {"metric": self.headline.metric,
                         **evaluation["overall"][self.headline.metric]},
            "evaluation": evaluation,
        }

    def summary(self) -> str:
        """Plain text: what was trained on what, and the metrics with intervals."""
        head = (
            f"{self.id}: recipe {self.recipe} on {self.data} ({self.n_train} rows"
            + (f", {self.n_augmented} augmented" if self.n_augmented else "")
            + f"), evaluated on {self.eval_set}"
        )
        return head + "\n" + self.evaluation.summary()


def _short(label: Any) -> str:
    """A label in a one-line summary: floats to six significant digits."""
    return f"{label:.6g}" if isinstance(label, float) else str(label)


def _change(old: Any, new: Any, described: str) -> str:
    """One relabel in a summary: ``old -> new`` for a single value, else the task's
    description of the change (boxes: ``box 1 moved (IoU 0.62 with the old one)``)."""
    if described.startswith("relabeled "):  # the task names two values, not a change
        return f"{_short(old)} -> {_short(new)}"
    return described


@dataclass
class ExperimentComparison:
    """Two experiments compared on the same evaluation items, with the data diff.

    Attributes
    ----------
    a, b : Experiment
    comparison : Comparison
        Metric deltas with paired bootstrap intervals and McNemar's test.
    diff : DatasetDiff or None
        What changed from A's data version to B's (None across datasets).
    """

    a: Experiment
    b: Experiment
    comparison: Comparison
    diff: DatasetDiff | None

    @property
    def verdict(self) -> Verdict:
        """``"better"``, ``"worse"`` or ``"same"``: B against A on the headline metric of
        A's task, in its direction (higher accuracy, lower MAE). A point comparison:
        :attr:`comparison` says whether the difference is more than noise."""
        return self.a.task.verdict(self.a.evaluation.overall, self.b.evaluation.overall)

    def to_dict(self, *, limit: int = 20) -> dict[str, Any]:
        """A JSON-safe dict with up to ``limit`` changed items of each kind."""
        return {
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "comparison": self.comparison.to_dict(),
            "diff": None if self.diff is None else self.diff.to_dict(limit=limit),
        }

    def summary(self, *, limit: int = 5) -> str:
        """Plain text: the data change, then the metric deltas and the test."""
        lines = [f"{self.a.id} ({self.a.data}) -> {self.b.id} ({self.b.data})"]
        if self.diff is not None:
            lines.append("data: " + self.diff.summary())
            moved = self.diff.relabeled.head(limit)
            if len(moved):
                changes = self.diff.label_changes(limit)
                parts = [
                    f"{r.item_id}: {_change(r.old_label, r.new_label, change)}"
                    for r, change in zip(moved.itertuples(index=False), changes, strict=True)
                ]
                more = len(self.diff.relabeled) - len(moved)
                text = "relabeled: " + ", ".join(parts) + (f", ... ({more} more)" if more else "")
                lines += textwrap.wrap(text, 80, initial_indent="  ", subsequent_indent="    ")
        lines.append(self.comparison.summary())
        return "\n".join(lines)


class ExperimentStore:
    """The experiments of a workspace.

    Parameters
    ----------
    workspace : Workspace
    """

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace

    # ------------------------------------------------------------------ running
    def run(
        self,
        data: str,
        *,
        recipe: str,
        eval_set: str,
        n_boot: int = 1000,
        seed: int = 0,
    ) -> Experiment:
        """Train ``recipe`` on version ``data``, evaluate it on ``eval_set``, record it.

        Parameters
        ----------
        data : str
            The training version, ``NAME`` (latest) or ``NAME@vN``.
        recipe : str
            A registered recipe's name, or a YAML file / import path (see
            :func:`assay.train.recipe.load_recipe`).
        eval_set : str
            The frozen evaluation set, a dataset reference.
        n_boot, seed : int
            Bootstrap resamples and seed of the metric intervals.

        Raises
        ------
        InputError
            Leakage, augmented evaluation rows, unseen evaluation classes or missing
            feature columns; nothing is recorded.
        """
        train_v, eval_v = self.ws.dataset(data), self.ws.dataset(eval_set)
        recipe_name, model = self.resolve_recipe(recipe)
        train_df, eval_df = train_v.to_pandas(), eval_v.to_pandas()
        require_labels(train_v, train_df)
        require_labels(eval_v, eval_df)
        notes, eval_content = _check_honest(train_df, eval_df, train_v, eval_v)
        X_train, X_eval, features = train_eval_inputs(train_v, train_df, eval_v, eval_df, model)
        check_leakage(  # equal features under another id (after featurising)
            X_train=_numeric(X_train), X_eval=_numeric(X_eval),
            eval_ids=eval_df[eval_v.roles.id].astype(str).to_numpy(),
        )
        notes += _shift_note(train_v, eval_v, train_df, eval_df, features)  # once honest
        notes += _leak_note(train_v, train_df, features, seed)
        tags = list(eval_v.roles.tags)
        with threadpool_limits(limits=1):  # BLAS threads oversubscribe small fits 10x
            evaluation = fit_and_evaluate(
                model,
                X_train,
                train_df[train_v.roles.label].to_numpy(),
                X_eval,
                eval_df[eval_v.roles.label].to_numpy(),
                eval_ids=eval_df[eval_v.roles.id].to_numpy(),
                tags=eval_df[tags] if tags else None,
                check_content=False,
                n_boot=n_boot,
                seed=seed,
                task=train_v.task,
            )
        n_aug = int(_augmented_mask(train_df).sum())
        return self._record(
            train_v,
            eval_v,
            recipe_name,
            model,
            evaluation,
            features,
            n_aug,
            notes=notes,
            eval_content=eval_content,
        )

    def resolve_recipe(self, recipe: str) -> tuple[str, Recipe]:
        """A registered recipe by name, else a built-in recipe (``hog``), a YAML file or
        an import path."""
        from assay.train.recipe import DETECTORS, load_recipe

        try:
            return recipe, self.ws.recipes.get(recipe)
        except NotFoundError as exc:
            looks_like_source = (
                ":" in recipe or recipe.endswith((".yml", ".yaml")) or recipe in DETECTORS
            )
            if not looks_like_source:
                raise InputError(str(exc)) from None
            return recipe, load_recipe(recipe)

    def _record(
        self,
        train_v: DatasetVersion,
        eval_v: DatasetVersion,
        recipe_name: str,
        model: Recipe,
        evaluation: Evaluation,
        features: list[str],
        n_augmented: int,
        *,
        notes: list[str],
        eval_content: str | None,
    ) -> Experiment:
        summary = evaluation.to_dict()
        predictions = pa.table(
            {
                "id": pa.array([str(v) for v in summary.pop("ids")]),
                "y_true": pa.array(summary.pop("y_true")),
                "y_pred": pa.array(summary.pop("y_pred")),
            }
        )
        result = {
            "data": train_v.ref,
            "data_hash": train_v.object_hash,
            "recipe": recipe_name,
            "recipe_hash": model.hash,
            "eval_set": eval_v.ref,
            "eval_hash": eval_v.object_hash,
            "eval_content": eval_content,
            "n_train": train_v.n_rows,
            "n_augmented": n_augmented,
            "features": features,
            "notes": notes,
            "task": train_v.task.kind,
            "evaluation": summary,
        }
        analysis_id = self.ws.record_analysis(
            EXPERIMENT_KIND,
            result,
            dataset=train_v.ref,
            params={"recipe": recipe_name, "eval_set": eval_v.ref},
            recipe_hash=model.hash,
            table=predictions,
            duration_s=evaluation.duration_s,
        )
        records = sorted(self.ws.analyses(EXPERIMENT_KIND), key=lambda r: r["id"])
        number = next(n for n, r in enumerate(records, 1) if r["id"] == analysis_id)
        return self._load(number, records[number - 1])

    # ----------------------------------------------------------------- reading
    def evaluated_on(self, dataset: str) -> list[str]:
        """Ids (``E1``, ...) of the experiments that used ``dataset`` as evaluation set.

        Parameters
        ----------
        dataset : str
            A dataset name (a ``@vN`` suffix is ignored: any version counts).
        """
        name = dataset.split("@")[0]
        records = sorted(self.ws.analyses(EXPERIMENT_KIND), key=lambda r: r["id"])
        return [
            f"E{n}"
            for n, r in enumerate(records, start=1)
            if str(r["result"].get("eval_set", "")).split("@")[0] == name
        ]

    def list(self, dataset: str | None = None) -> list[Experiment]:
        """Experiments, oldest first (only those trained on ``dataset`` if given)."""
        records = sorted(self.ws.analyses(EXPERIMENT_KIND), key=lambda r: r["id"])
        numbered = list(enumerate(records, start=1))
        if dataset is not None:
            name = dataset.split("@")[0]
            self.ws.dataset(name)  # NotFoundError for an unknown dataset
            numbered = [(n, r) for n, r in numbered if r["dataset"] == name]
        return [self._load(n, r) for n, r in numbered]

    def get(self, experiment: str | int) -> Experiment:
        """One experiment by id (``"E3"``, ``"3"`` or 3)."""
        match = _EXPERIMENT_ID.match(str(experiment).strip())
        records = sorted(self.ws.analyses(EXPERIMENT_KIND), key=lambda r: r["id"])
        if match is None:
            raise InputError(
                f"{experiment!r} is not an experiment id; write E1, E2, ... "
                "(see `assay experiments NAME`)."
            )
        number = int(match.group(1))
        if not 1 <= number <= len(records):
            have = f"E1 to E{len(records)}" if records else "none yet"
            raise NotFoundError(
                f"no experiment E{number} (experiments: {have}); run `assay train` first."
            )
        return self._load(number, records[number - 1])

    def _load(self, number: int, record: dict[str, Any]) -> Experiment:
        result = dict(record["result"])
        data = dict(result["evaluation"])
        table = self.ws.analysis_table(record)
        if table is not None:
            data.update(
                ids=table.column("id").to_pylist(),
                y_true=table.column("y_true").to_pylist(),
                y_pred=table.column("y_pred").to_pylist(),
            )
        else:
            data.setdefault("y_true", [])
            data.setdefault("y_pred", [])
        return Experiment(
            id=f"E{number}",
            number=number,
            analysis_id=int(record["id"]),
            data=result["data"],
            data_hash=result["data_hash"],
            recipe=result["recipe"],
            recipe_hash=result["recipe_hash"],
            eval_set=result["eval_set"],
            eval_hash=result["eval_hash"],
            evaluation=get_task(result.get("task")).evaluation_from_dict(data),
            n_train=int(result.get("n_train") or 0),
            n_augmented=int(result.get("n_augmented") or 0),
            features=list(result.get("features") or []),
            duration_s=record.get("duration_s"),
            created_at=record.get("created_at"),
            notes=list(result.get("notes") or []),
            eval_content=result.get("eval_content"),
            task_kind=result.get("task"),
        )

    # --------------------------------------------------------------- comparing
    def compare(
        self, a: str | int, b: str | int, *, n_boot: int = 1000, seed: int = 0
    ) -> ExperimentComparison:
        """Compare two experiments of the same recipe on the same evaluation set.

        Raises
        ------
        InputError
            When the evaluation sets (reference or content) or the recipes differ: the
            difference would not be the data's doing.
        """
        exp_a, exp_b = self.get(a), self.get(b)
        check_comparable(exp_a, exp_b)
        comparison = compare(
            exp_a.evaluation, exp_b.evaluation, names=(exp_a.id, exp_b.id), n_boot=n_boot, seed=seed
        )
        diff = self.ws.diff(exp_a.data, exp_b.data) if exp_a.dataset == exp_b.dataset else None
        return ExperimentComparison(exp_a, exp_b, comparison, diff)

    def previous(self, experiment: Experiment) -> Experiment | None:
        """The latest earlier experiment on other data, comparable with ``experiment``."""
        earlier = [
            e
            for e in self.list(experiment.dataset)
            if e.number < experiment.number
            and e.data_hash != experiment.data_hash
            and e.recipe_hash == experiment.recipe_hash
            and e.eval_hash == experiment.eval_hash
            and e.eval_content == experiment.eval_content
        ]
        return earlier[-1] if earlier else None


def check_comparable(a: Experiment, b: Experiment) -> None:
    """Refuse to compare experiments whose difference is not only the training data."""
    if a.eval_set.split("@")[0] != b.eval_set.split("@")[0] or a.eval_hash != b.eval_hash:
        raise InputError(
            f"{a.id} was evaluated on {a.eval_set} and {b.id} on {b.eval_set} (different "
            "content); compare experiments on the same frozen evaluation set."
        )
    if a.eval_content and b.eval_content and a.eval_content != b.eval_content:
        raise InputError(
            f"the files of the evaluation set {a.eval_set} changed between {a.id} and {b.id} "
            "(same paths, other content); compare experiments on the same frozen files, or "
            "import the changed folder as a new evaluation set."
        )
    if a.recipe_hash != b.recipe_hash:
        raise InputError(
            f"{a.id} used recipe {a.recipe} ({a.recipe_hash[:12]}) and {b.id} recipe "
            f"{b.recipe} ({b.recipe_hash[:12]}); hold the recipe fixed to compare data versions."
        )


# -- checks --------------------------------------------------------------------------
def _augmented_mask(df: pd.DataFrame) -> np.ndarray:
    if AUGMENTED_COLUMN not in df.columns:
        return np.zeros(len(df), dtype=bool)
    return np.asarray(df[AUGMENTED_COLUMN].fillna(False).to_numpy(dtype=bool))


def _shift_note(
    train_v: DatasetVersion,
    eval_v: DatasetVersion,
    train_df: pd.DataFrame,
    eval_df: pd.DataFrame,
    features: list[str],
) -> list[str]:
    """A note when feature columns of the evaluation set drifted from the training
    version's (statistically and practically, as :func:`assay.drift` tests them): the
    score then measures the model on data unlike what it learned from, as a test set
    from another period does."""
    from assay.deploy.drift import drift

    columns = [c for c in features if c in train_df.columns and c in eval_df.columns]
    if not columns or len(columns) > SHIFT_CHECK_COLUMNS or min(len(train_df), len(eval_df)) < 30:
        return []
    names = drift(train_df[columns], eval_df[columns]).drifted_columns
    if not names:
        return []
    shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
    return [
        f"{eval_v.ref} differs from the training data {train_v.ref} in {len(names)} of "
        f"{len(columns)} feature columns ({shown}; `assay drift {train_v.ref} "
        f"{eval_v.ref}` shows how): the score is on data unlike what the model learned "
        "from; if production looks like the evaluation set, collect training data like it."
    ]


def _leak_note(
    train_v: DatasetVersion, train_df: pd.DataFrame, features: list[str], seed: int
) -> list[str]:
    """A note when feature columns of the training version (nearly) determine its label
    (:func:`~assay.train.audit.target_leakage.find_target_leakage`): the score then
    promises what production, where such a column is not known yet, will not give."""
    from assay.train.audit.target_leakage import find_target_leakage, leak_note

    columns = [c for c in features if c in train_df.columns]
    if not columns:
        return []
    labels = train_df[train_v.roles.label].to_numpy()
    leaks = find_target_leakage(train_df[columns], labels, kind=train_v.task.kind, seed=seed)
    return [leak_note(leak) for leak in leaks]


def _check_honest(
    train_df: pd.DataFrame,
    eval_df: pd.DataFrame,
    train_v: DatasetVersion,
    eval_v: DatasetVersion,
) -> tuple[list[str], str | None]:
    """Refuse a dishonest evaluation before any feature is computed (InputError): an
    augmented evaluation row, an evaluation item in the training data (by id, file or
    row content, or as an augmented copy) or an evaluation class the training data
    lacks. The features are compared once computed (the caller does).

    Returns
    -------
    notes : list of str
        What was checked and not refused (shared file names with other content).
    eval_content : str or None
        The SHA-256 over the evaluation ids and file digests (media datasets only).
    """
    eval_ids = eval_df[eval_v.roles.id].astype(str).to_numpy()
    check_not_augmented(eval_df, ids=list(eval_ids))
    parents = (
        train_df["parent_id"].map(lambda v: None if pd.isna(v) else str(v)).to_numpy()
        if "parent_id" in train_df.columns
        else None
    )
    # augmented rows have synthetic ids: their link to an item is parent_id (checked)
    original = ~_augmented_mask(train_df)
    train_ids = train_df[train_v.roles.id].astype(str).to_numpy()[original]
    eval_digests = _content_digests(eval_v, eval_df)
    train_digests = None if eval_digests is None else _content_digests(train_v, train_df)
    if train_digests is not None:
        train_digests = train_digests[original]
    by_id = (train_digests, eval_digests) if train_digests is not None else None
    if by_id is None and (numbered := _row_digests(train_df, eval_df, train_v, eval_v)):
        by_id = (numbered[0][original], numbered[1])  # row numbers: confirmed by content
    check_leakage(
        train_ids,
        eval_ids,
        train_parent_ids=parents,
        train_digests=None if by_id is None else by_id[0],
        eval_digests=None if by_id is None else by_id[1],
    )
    train_v.task.check_eval_labels(
        train_df[train_v.roles.label].to_numpy(), eval_df[eval_v.roles.label].to_numpy()
    )
    if eval_digests is None:  # no media files (row numbers shared by two imports: no note)
        return [], None
    content = hashlib.sha256(
        "\n".join(f"{i}\t{d}" for i, d in zip(eval_ids, eval_digests, strict=True)).encode()
    ).hexdigest()
    if train_digests is None:
        return [], content
    notes = _collision_notes(train_ids, eval_ids, train_digests, eval_digests, train_v, eval_v)
    return notes, content


def _content_digests(version: DatasetVersion, frame: pd.DataFrame) -> np.ndarray | None:
    """The SHA-256 of each row's media file, or None for a version without media files.

    Computed at check time from the files the rows reference (the stored rows hold the
    relative path only), so a folder import needs no extra column.
    """
    if version.modality == "tabular" or not version.roles.media or not version.media_root:
        return None
    from assay.store.features import media_paths

    digests = []
    for path in media_paths(version, frame):
        with open(path, "rb") as fh:
            digests.append(hashlib.file_digest(fh, "sha256").hexdigest())
    return np.asarray(digests, dtype=object)


def _row_digests(
    train_df: pd.DataFrame,
    eval_df: pd.DataFrame,
    train_v: DatasetVersion,
    eval_v: DatasetVersion,
) -> tuple[np.ndarray, np.ndarray] | None:
    """A hash of each row's values (its columns but the roles, provenance and tags),
    shapes (n_train,) and (n_eval,), when a side numbers its rows (imported without
    --id) and its rows hold no media files (a table, or texts); else None.

    Row numbers of two imports name different items (row 0 of the training file and
    row 0 of the test file), so there an id leaks only with the same values, like a
    media file's name with the same bytes. Equal values under any id leak in any case.
    """
    if GENERATED_ID not in (train_v.roles.id, eval_v.roles.id) or (
        train_v.roles.media or eval_v.roles.media  # files: their bytes decide instead
    ):
        return None
    from assay.store.features import descriptive_columns

    tags = set(eval_v.roles.tags)
    shared = [c for c in descriptive_columns(eval_v) if c in train_df.columns and c not in tags]
    if not shared:
        return None
    return _hash_rows(train_df[shared]), _hash_rows(eval_df[shared])


def _hash_rows(frame: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash of each row's values, as text, shape (n_rows,)."""
    return pd.util.hash_pandas_object(frame, index=False).to_numpy().astype(str)


def _collision_notes(
    train_ids: np.ndarray,
    eval_ids: np.ndarray,
    train_digests: np.ndarray,
    eval_digests: np.ndarray,
    train_v: DatasetVersion,
    eval_v: DatasetVersion,
) -> list[str]:
    """A note naming evaluation files that share a name with a training file, not its bytes."""
    shared = find_id_collisions(train_ids, eval_ids, train_digests, eval_digests)
    if not shared.any():
        return []
    names = eval_ids[shared]
    listed = ", ".join(map(str, names[:5])) + (
        f", ... ({len(names) - 5} more)" if len(names) > 5 else ""
    )
    return [
        f"{len(names)} evaluation items of {eval_v.ref} share an id with a training item of "
        f"{train_v.ref} but are different files ({listed}); compared by content (SHA-256), "
        "they are not leakage."
    ]


def _numeric(X: Any) -> Any:
    """Features as float64, so that equal rows hash equal across integer / float dtypes."""
    if isinstance(X, pd.DataFrame):  # raw texts (a recipe that reads text) hash as they are
        numeric = all(pd.api.types.is_numeric_dtype(t) for t in X.dtypes)
        return X.astype(np.float64) if numeric else X
    return X if hasattr(X, "tocsr") else np.asarray(X, dtype=np.float64)

"""The audit's checks: one small class per check, in a registry.

A check declares what it needs (``requires``: ``"labels"``, ``"features"``, ``"split"``,
``"probs"``) and turns an :class:`AuditContext` into a
:class:`~assay.train.audit._result.CheckResult`. :func:`register_check` adds a check class;
the audit runs every registered check whose needs are met (or the ones named).
"""

from __future__ import annotations

import difflib
from typing import Any, ClassVar

from assay._validation import warn
from assay.exceptions import InputError
from assay.train.audit import neighbors as nb
from assay.train.audit._action import suggestion_columns
from assay.train.audit._context import AuditContext
from assay.train.audit._label_check import label_check_probs
from assay.train.audit._result import CheckResult, make_result
from assay.train.labels._trust import flag_trust, trust_line

__all__ = [
    "AuditContext",
    "Check",
    "available_checks",
    "check_class",
    "get_check",
    "register_check",
    "resolve_check",
]


class Check:
    """Base class of an audit check; subclasses set ``name``/``requires``, define ``run``.

    Constructor keyword arguments are the check's parameters (stored as they are).
    """

    name: ClassVar[str] = ""
    requires: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    #: Why an example is flagged, as the report says it: a template over ``{given}``,
    #: ``{suggested}`` and ``{set}`` (empty: "flagged by the NAME check").
    reason: ClassVar[str] = ""
    #: The review-queue source of the flagged examples (None: not queued item by item,
    #: e.g. a class imbalance flags a whole class).
    queue_source: ClassVar[str | None] = None
    #: The kinds of label (:attr:`assay.tasks.Task.kind`) the check applies to; empty:
    #: every kind. Several classes may share a ``name`` for different kinds (the label
    #: check of classification, of regression, of multi-label).
    tasks: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def applies_to(cls, kind: str) -> bool:
        """Whether the check makes sense for labels of ``kind``."""
        return not cls.tasks or kind in cls.tasks

    def __init__(self, **params: Any) -> None:
        self.params = params

    def run(self, ctx: AuditContext) -> CheckResult:  # pragma: no cover - abstract
        """Compute the check's issues for every example."""
        raise NotImplementedError


_REGISTRY: dict[str, type[Check]] = {}
#: (name, kind) -> the check class of that name for labels of that kind.
_VARIANTS: dict[tuple[str, str], type[Check]] = {}


def register_check(cls: type[Check]) -> type[Check]:
    """Add a check class to the registry (usable as a class decorator).

    A class that declares ``tasks`` is the check of its name for those kinds of label;
    the first class of a name stays its entry (reason, queue source) in the registry.
    """
    if not cls.name or not cls.name.isidentifier():
        raise InputError(f"a check needs a name that is an identifier; got {cls.name!r}.")
    if cls.tasks and cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        for kind in cls.tasks:
            _VARIANTS[(cls.name, kind)] = cls
        return cls
    _REGISTRY[cls.name] = cls
    for kind in cls.tasks:
        _VARIANTS[(cls.name, kind)] = cls
    return cls


def check_class(name: str, kind: str | None = None) -> type[Check]:
    """The class of check ``name`` (or ``name_issue``) for labels of ``kind``."""
    base = resolve_check(name)
    if kind is None:
        return _REGISTRY[base]
    return _VARIANTS.get((base, kind), _REGISTRY[base])


def check_reason(name: str) -> str:
    """The report's reason template of check ``name`` (a generic one when it has none)."""
    cls = _REGISTRY.get(name)
    return (cls.reason if cls is not None else "") or f"flagged by the {name} check"


def queue_sources() -> dict[str, str]:
    """Check name -> review-queue source, for the checks whose flags are queued."""
    return {name: cls.queue_source for name, cls in _REGISTRY.items() if cls.queue_source}


def available_checks() -> list[str]:
    """The names of the registered checks, in registration order."""
    return list(_REGISTRY)


def resolve_check(name: str, *, where: str = "") -> str:
    """The registered check that ``name`` (``NAME`` or ``NAME_issue``) refers to.

    Parameters
    ----------
    name : str
        A check's name, with or without the ``_issue`` suffix of its flag column.
    where : str, optional
        Where the name was given (e.g. ``"--fail-on 'label_issues>5%'"``), for the message.

    Raises
    ------
    InputError
        For an unknown name: lists the checks and suggests the closest one.
    """
    base = name[: -len("_issue")] if name.endswith("_issue") else name
    if base in _REGISTRY:
        return base
    suffix = "_issue" if "_issue" in name else ""
    candidates = {f"{c}{suffix}": c for c in _REGISTRY} | {c: c for c in _REGISTRY}
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    place = f" in {where}" if where else ""
    raise InputError(
        f"unknown check {name!r}{place}{hint}; the checks are: {', '.join(_REGISTRY)} "
        "(each also as NAME_issue, e.g. label_issue)."
    )


def get_check(name: str, kind: str | None = None, **params: Any) -> Check:
    """Instantiate the registered check ``name`` (or ``name_issue``) with ``params``, in
    its variant for labels of ``kind`` when it has one."""
    return check_class(name, kind)(**params)


@register_check
class LabelCheck(Check):
    """Likely label errors, ranked by ``label_quality`` (see :mod:`assay.train.audit._label_probs`)."""

    name = "label"
    requires = ("labels", "probs")
    description = "given label disagrees with out-of-sample predictions and neighbours"
    reason = "given label {given!r} looks wrong; the model and neighbours suggest {suggested!r}"
    queue_source = "label_issue"
    tasks = ("classification",)

    def run(self, ctx: AuditContext) -> CheckResult:
        """Flag label issues with confident learning on the audit's best probabilities."""
        assert ctx.labels is not None and ctx.classes is not None
        probs = label_check_probs(ctx, **self.params)
        table = ctx.task.find_label_issues(ctx.classes[ctx.labels], probs, classes=ctx.classes)
        result = make_result(
            "label",
            table["is_label_issue"].to_numpy(),
            table["label_quality"].to_numpy(),
            score_column="label_quality",
            extra={
                "given_label": table["given_label"].to_numpy(),
                "suggested_label": table["suggested_label"].to_numpy(),
                **suggestion_columns(ctx.labels, probs),
            },
            info={
                **{k: v for k, v in ctx.cache.items() if k.startswith("label_")},
                **flag_trust(ctx.labels, probs, table["is_label_issue"].to_numpy()),
            },
        )
        if result.summary["weak_model"]:
            warn(f"label check: {trust_line(result.summary)}")
        return result


@register_check
class OutlierCheck(Check):
    """Examples far from their k nearest neighbours (:func:`neighbors.find_outliers`)."""

    name = "outlier"
    requires = ("features",)
    description = "far from its nearest neighbours"
    reason = "far from its nearest neighbours"
    queue_source = "outlier"

    def run(self, ctx: AuditContext) -> CheckResult:
        """Score every example by its mean k-NN distance."""
        return nb.find_outliers(graph=ctx.graph(), **self.params)


@register_check
class NearDuplicateCheck(Check):
    """Examples atypically close to another (:func:`neighbors.find_near_duplicates`)."""

    name = "near_duplicate"
    requires = ("features",)
    description = "nearly identical to another example"
    reason = "nearly identical to example(s) in near-duplicate set {set}"
    queue_source = "near_duplicate"

    def run(self, ctx: AuditContext) -> CheckResult:
        """Group examples closer than a fraction of the median nearest-neighbour distance."""
        return nb.find_near_duplicates(graph=ctx.graph(), **self.params)


@register_check
class ExactDuplicateCheck(Check):
    """Byte-identical feature rows (:func:`neighbors.find_exact_duplicates`)."""

    name = "exact_duplicate"
    requires = ("features",)
    description = "identical to another example"
    reason = "identical to example(s) in duplicate set {set}"
    queue_source = "exact_duplicate"

    def run(self, ctx: AuditContext) -> CheckResult:
        """Group identical rows by hashing."""
        return nb.find_exact_duplicates(ctx.features)


@register_check
class ClassImbalanceCheck(Check):
    """Examples of under-represented classes (:func:`neighbors.find_class_imbalance`)."""

    name = "class_imbalance"
    requires = ("labels",)
    description = "its class is much rarer than a uniform share"
    reason = "its class is much rarer than a uniform share"
    tasks = ("classification",)

    def run(self, ctx: AuditContext) -> CheckResult:
        """Flag the examples of rare classes."""
        assert ctx.labels is not None
        assert ctx.classes is not None
        return nb.find_class_imbalance(
            ctx.classes[ctx.labels], classes=list(ctx.classes), **self.params
        )


@register_check
class LeakageCheck(Check):
    """Duplicates across splits (:func:`neighbors.find_split_leakage`)."""

    name = "leakage"
    requires = ("features", "split")
    description = "duplicated in another split (train/test leakage)"
    reason = "has an (almost) identical copy in another split"
    queue_source = "leakage"

    def run(self, ctx: AuditContext) -> CheckResult:
        """Find examples with an exact or near copy in another split."""
        return nb.find_split_leakage(
            ctx.features, ctx.split, graph=ctx.graph(), n_jobs=ctx.n_jobs, **self.params
        )

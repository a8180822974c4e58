"""assay: data-centric AI. Hold the model fixed and improve the data.

The public API, by lifecycle phase. Everything here is pinned by
``tests/test_public_api.py``. Names load on first use (PEP 562), so ``import assay``
(and ``assay --version``) does not import scikit-learn, SciPy or the store.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from assay.collect import (
        AgreementReport,
        ConsensusResult,
        ConventionReport,
        SamplePlan,
        TranscriptAgreement,
        agreement,
        agreement_by,
        classes_to_revise,
        compare_classes,
        consensus,
        convention_report,
        normalize_annotations,
        parse_label_studio,
        plan_sample,
        read_annotations,
        sample_size_for_kappa,
        to_label_studio_tasks,
        transcript_agreement,
    )
    from assay.deploy import (
        ConfidenceEstimator,
        DriftReport,
        PageHinkley,
        Profile,
        adwin,
        drift,
        page_hinkley,
        profile,
        realised_performance,
        sample_for_labeling,
    )
    from assay.exceptions import AssayError, ConflictError, InputError, NotFoundError, StoreError
    from assay.store.datasets import DatasetVersion
    from assay.store.diff import DatasetDiff
    from assay.store.workspace import Workspace
    from assay.train import (
        AuditReport,
        CleanVsCollect,
        Comparison,
        Evaluation,
        LearningCurve,
        NoiseEstimate,
        Recipe,
        SliceReport,
        SliceTable,
        audit,
        augment,
        clean_vs_collect,
        compare,
        cross_val_predict_proba,
        estimate_noise,
        evaluate,
        find_label_issues,
        find_slices,
        fit_and_evaluate,
        learning_curve,
        recommend,
        slice_table,
    )

#: Where each public name lives; ``assay.NAME`` imports its module on first use.
_HOME = {
    **dict.fromkeys(
        [
            "AgreementReport",
            "ConsensusResult",
            "ConventionReport",
            "SamplePlan",
            "TranscriptAgreement",
            "agreement",
            "agreement_by",
            "classes_to_revise",
            "compare_classes",
            "consensus",
            "convention_report",
            "normalize_annotations",
            "parse_label_studio",
            "plan_sample",
            "read_annotations",
            "sample_size_for_kappa",
            "to_label_studio_tasks",
            "transcript_agreement",
        ],
        "assay.collect",
    ),
    **dict.fromkeys(
        [
            "ConfidenceEstimator",
            "DriftReport",
            "PageHinkley",
            "Profile",
            "adwin",
            "drift",
            "page_hinkley",
            "profile",
            "realised_performance",
            "sample_for_labeling",
        ],
        "assay.deploy",
    ),
    **dict.fromkeys(
        ["AssayError", "ConflictError", "InputError", "NotFoundError", "StoreError"],
        "assay.exceptions",
    ),
    "DatasetVersion": "assay.store.datasets",
    "DatasetDiff": "assay.store.diff",
    "Workspace": "assay.store.workspace",
    **dict.fromkeys(
        [
            "AuditReport",
            "CleanVsCollect",
            "Comparison",
            "Evaluation",
            "LearningCurve",
            "NoiseEstimate",
            "Recipe",
            "SliceReport",
            "SliceTable",
            "audit",
            "augment",
            "clean_vs_collect",
            "compare",
            "cross_val_predict_proba",
            "estimate_noise",
            "evaluate",
            "find_label_issues",
            "find_slices",
            "fit_and_evaluate",
            "learning_curve",
            "recommend",
            "slice_table",
        ],
        "assay.train",
    ),
}


def __getattr__(name: str) -> _typing.Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(home), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__version__ = "0.1.0"

__all__ = [
    # errors
    "AssayError",
    "ConflictError",
    "InputError",
    "NotFoundError",
    "StoreError",
    # the workspace
    "DatasetDiff",
    "DatasetVersion",
    "Workspace",
    # collect
    "AgreementReport",
    "ConsensusResult",
    "ConventionReport",
    "SamplePlan",
    "TranscriptAgreement",
    "agreement",
    "agreement_by",
    "classes_to_revise",
    "compare_classes",
    "consensus",
    "convention_report",
    "normalize_annotations",
    "parse_label_studio",
    "plan_sample",
    "read_annotations",
    "sample_size_for_kappa",
    "to_label_studio_tasks",
    "transcript_agreement",
    # train
    "AuditReport",
    "CleanVsCollect",
    "Comparison",
    "Evaluation",
    "LearningCurve",
    "NoiseEstimate",
    "Recipe",
    "SliceReport",
    "SliceTable",
    "audit",
    "augment",
    "clean_vs_collect",
    "compare",
    "cross_val_predict_proba",
    "estimate_noise",
    "evaluate",
    "find_label_issues",
    "find_slices",
    "fit_and_evaluate",
    "learning_curve",
    "recommend",
    "slice_table",
    # deploy
    "ConfidenceEstimator",
    "DriftReport",
    "PageHinkley",
    "Profile",
    "adwin",
    "drift",
    "page_hinkley",
    "profile",
    "realised_performance",
    "sample_for_labeling",
    "__version__",
]

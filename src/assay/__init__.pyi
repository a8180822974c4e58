"""The public API of assay: the one list of its names, by lifecycle phase.

Both the type checkers and the runtime read this file: ``assay/__init__.py`` hands it to
``lazy_loader.attach_stub``, which derives ``assay.__all__`` and loads each name from the
module named here on first use. To export a name, add it here (``NAME as NAME``) and
nowhere else; ``tests/test_public_api.py`` pins the result.
"""

# ruff: noqa: I001 - one statement per module, each name as NAME (PEP 484 re-export)
from .collect import (
    AgreementReport as AgreementReport,
    BoxAgreementReport as BoxAgreementReport,
    BoxConsensusResult as BoxConsensusResult,
    ConsensusResult as ConsensusResult,
    ConventionReport as ConventionReport,
    NumericAgreementReport as NumericAgreementReport,
    NumericConsensusResult as NumericConsensusResult,
    SamplePlan as SamplePlan,
    SetAgreementReport as SetAgreementReport,
    SetConsensusResult as SetConsensusResult,
    TranscriptAgreement as TranscriptAgreement,
    TranscriptConsensus as TranscriptConsensus,
    agreement as agreement,
    agreement_by as agreement_by,
    annotations_from_matrix as annotations_from_matrix,
    box_agreement as box_agreement,
    box_consensus as box_consensus,
    character_error_rate as character_error_rate,
    classes_to_revise as classes_to_revise,
    compare_classes as compare_classes,
    consensus as consensus,
    convention_report as convention_report,
    error_counts as error_counts,
    normalize_annotations as normalize_annotations,
    numeric_agreement as numeric_agreement,
    numeric_consensus as numeric_consensus,
    parse_label_studio as parse_label_studio,
    plan_sample as plan_sample,
    read_annotations as read_annotations,
    sample_size_for_kappa as sample_size_for_kappa,
    set_agreement as set_agreement,
    set_consensus as set_consensus,
    to_label_studio_tasks as to_label_studio_tasks,
    transcript_agreement as transcript_agreement,
    transcript_consensus as transcript_consensus,
    word_error_rate as word_error_rate,
)
from .collect.normalisation import Normalisation as Normalisation
from .collect.transcript_report import (
    transcript_agreement_report as transcript_agreement_report,
)
from .deploy import (
    ConfidenceEstimator as ConfidenceEstimator,
    DriftReport as DriftReport,
    LossEstimator as LossEstimator,
    MultilabelConfidenceEstimator as MultilabelConfidenceEstimator,
    PageHinkley as PageHinkley,
    Profile as Profile,
    SetDriftReport as SetDriftReport,
    adwin as adwin,
    drift as drift,
    page_hinkley as page_hinkley,
    profile as profile,
    realised_performance as realised_performance,
    sample_for_labeling as sample_for_labeling,
    set_drift as set_drift,
)
from .exceptions import (
    AssayError as AssayError,
    ConflictError as ConflictError,
    InputError as InputError,
    NotFoundError as NotFoundError,
    StoreError as StoreError,
)
from .store.datasets import DatasetVersion as DatasetVersion
from .store.diff import DatasetDiff as DatasetDiff
from .store.workspace import Workspace as Workspace
from .train.evaluate import detection_errors as detection_errors
from .train import (
    AuditReport as AuditReport,
    CleanVsCollect as CleanVsCollect,
    Comparison as Comparison,
    DetectionMAP as DetectionMAP,
    Evaluation as Evaluation,
    LearningCurve as LearningCurve,
    NoiseEstimate as NoiseEstimate,
    Recipe as Recipe,
    SliceReport as SliceReport,
    SliceTable as SliceTable,
    TranscriptFit as TranscriptFit,
    audit as audit,
    box_issues_per_image as box_issues_per_image,
    augment as augment,
    clean_vs_collect as clean_vs_collect,
    compare as compare,
    cross_val_predict_proba as cross_val_predict_proba,
    estimate_noise as estimate_noise,
    evaluate as evaluate,
    find_box_issues as find_box_issues,
    find_label_issues as find_label_issues,
    find_transcript_issues as find_transcript_issues,
    find_slices as find_slices,
    fit_and_evaluate as fit_and_evaluate,
    learning_curve as learning_curve,
    mean_average_precision as mean_average_precision,
    recommend as recommend,
    slice_table as slice_table,
)

__version__: str

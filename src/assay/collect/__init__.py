"""Collect phase: labeler consistency, consensus labels, double-labeling plans.

Pure algorithms on long-format annotation tables (``item``, ``annotator``, ``label``);
file access is in :mod:`assay.collect.readers` and :mod:`assay.collect.label_studio`.
"""

from __future__ import annotations

from assay._wer import character_error_rate, error_counts
from assay.collect.agreement import AgreementReport, agreement, classes_to_revise
from assay.collect.agreement_boxes import BoxAgreementReport, box_agreement
from assay.collect.agreement_numeric import NumericAgreementReport, numeric_agreement
from assay.collect.agreement_sets import SetAgreementReport, set_agreement
from assay.collect.annotations import (
    ANNOTATION_COLUMNS,
    EncodedAnnotations,
    annotations_from_matrix,
    encode_annotations,
    normalize_annotations,
)
from assay.collect.consensus import ConsensusResult, consensus
from assay.collect.consensus_boxes import BoxConsensusResult, box_consensus
from assay.collect.consensus_numeric import NumericConsensusResult, numeric_consensus
from assay.collect.consensus_sets import SetConsensusResult, set_consensus
from assay.collect.consensus_transcripts import TranscriptConsensus, transcript_consensus
from assay.collect.conventions import ConventionReport, convention_report, normalize_text
from assay.collect.readers import parse_label_studio, read_annotations
from assay.collect.sampling import (
    SamplePlan,
    kappa_ci_width,
    plan_sample,
    sample_size_for_kappa,
    to_label_studio_tasks,
)
from assay.collect.transcripts import (
    TranscriptAgreement,
    edit_distance,
    transcript_agreement,
    word_error_rate,
)
from assay.collect.versions import agreement_by, compare_classes

__all__ = [
    "annotations_from_matrix",
    "ANNOTATION_COLUMNS",
    "AgreementReport",
    "BoxAgreementReport",
    "BoxConsensusResult",
    "ConsensusResult",
    "ConventionReport",
    "EncodedAnnotations",
    "NumericAgreementReport",
    "NumericConsensusResult",
    "SamplePlan",
    "SetAgreementReport",
    "SetConsensusResult",
    "TranscriptAgreement",
    "TranscriptConsensus",
    "agreement",
    "agreement_by",
    "box_agreement",
    "box_consensus",
    "character_error_rate",
    "classes_to_revise",
    "compare_classes",
    "consensus",
    "convention_report",
    "edit_distance",
    "encode_annotations",
    "error_counts",
    "kappa_ci_width",
    "normalize_annotations",
    "normalize_text",
    "numeric_agreement",
    "numeric_consensus",
    "parse_label_studio",
    "plan_sample",
    "read_annotations",
    "sample_size_for_kappa",
    "set_agreement",
    "set_consensus",
    "to_label_studio_tasks",
    "transcript_agreement",
    "transcript_consensus",
    "word_error_rate",
]

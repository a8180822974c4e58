"""SQLAlchemy 2 models of the workspace metadata.

Row data never lives here: a dataset version points at an immutable Parquet object
(``objects.py``), named by the SHA-256 of its bytes. Labels are stored as JSON text so
that integer and string classes round-trip with their type.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""


class Dataset(Base):
    """A named dataset: the roles of its columns and where its media live."""

    __tablename__ = "datasets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    label_column: Mapped[str] = mapped_column(String(200))
    id_column: Mapped[str] = mapped_column(String(200))
    tag_columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    split_column: Mapped[str | None] = mapped_column(String(200), nullable=True)
    media_column: Mapped[str | None] = mapped_column(String(200), nullable=True)
    media_root: Mapped[str | None] = mapped_column(Text, nullable=True)
    modality: Mapped[str] = mapped_column(String(40), default="tabular")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: The kind of label (a registered task), fixed at the first import.
    task: Mapped[str] = mapped_column(
        String(40), default="classification", server_default="classification"
    )
    #: A multi-label dataset's label names, in order; None for other kinds.
    label_names: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


class Version(Base):
    """An immutable dataset version pointing at one Parquet object."""

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("dataset_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"), nullable=True)
    object_hash: Mapped[str] = mapped_column(String(64))
    n_rows: Mapped[int] = mapped_column(BigInteger)
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    message: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    provenance: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: The hashes of the parts of a version stored in several objects (``object_hash``
    #: then names their manifest); None for a version in one object.
    parts: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


class Annotation(Base):
    """One label given by one annotator to one item (long format)."""

    __tablename__ = "annotations"
    __table_args__ = (Index("ix_annotations_dataset_item", "dataset_id", "item_id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    batch: Mapped[int] = mapped_column(Integer, default=1)
    item_id: Mapped[str] = mapped_column(String(400))
    annotator: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(Text)
    labelbook_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    annotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LabelBookVersion(Base):
    """One version of a dataset's label book: class definitions as JSON."""

    __tablename__ = "labelbook_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict] = mapped_column(JSON, default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReviewItem(Base):
    """An item in the review queue, and the human decision taken on it.

    ``revision`` implements optimistic concurrency: a decision names the revision it
    saw, and the update succeeds only if nobody changed the row in between.
    """

    __tablename__ = "review_items"
    __table_args__ = (
        Index("ix_review_dataset_status", "dataset_id", "status"),
        Index("ix_review_queue_order", "dataset_id", "status", "score", "id"),
        Index("ix_review_dataset_item", "dataset_id", "item_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(400))
    source: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    given_label: Mapped[str | None] = mapped_column(Text, nullable=True)
    suggested_label: Mapped[str | None] = mapped_column(Text, nullable=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="open")
    revision: Mapped[int] = mapped_column(Integer, default=0)
    decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    decision_label: Mapped[str | None] = mapped_column(Text, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    labelbook_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    applied_version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"), nullable=True)
    decision_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReviewDecision(Base):
    """One decision on a review entry, as an immutable fact.

    Deciding, undoing and deciding again each add a row; the entry's ``decision_id``
    points at the one in force (None after an undo). ``applied_version_id`` is set in
    the transaction that commits the version the decision was applied to.
    """

    __tablename__ = "review_decisions"
    __table_args__ = (Index("ix_review_decisions_entry", "entry_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("review_items.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(20))  # relabel, remove, keep, undo
    label: Mapped[str | None] = mapped_column(Text, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    labelbook_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    applied_version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"), nullable=True)


class ObjectLease(Base):
    """An object a running write may still commit: gc leaves it alone until it expires."""

    __tablename__ = "object_leases"
    __table_args__ = (Index("ix_object_leases_digest", "digest"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    holder: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Lock(Base):
    """A named lock with an expiry (e.g. ``apply:<dataset id>``): one holder at a time."""

    __tablename__ = "locks"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A signed-in browser session; signing out deletes the row, ending the session."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_user", "user_id"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the nonce
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditLog(Base):
    """Every human action, with who did it (decisions, applies, user changes)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Recipe(Base):
    """A fixed model specification, addressed by name and hash."""

    __tablename__ = "recipes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    hash: Mapped[str] = mapped_column(String(64))
    spec: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Analysis(Base):
    """A recorded analysis or experiment: its kind, inputs and JSON result."""

    __tablename__ = "analyses"
    __table_args__ = (Index("ix_analyses_kind", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), nullable=True
    )
    version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"), nullable=True)
    recipe_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    object_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Monitor(Base):
    """A production monitor: a reference version, its stored profile, thresholds."""

    __tablename__ = "monitors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    reference_version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    recipe_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    profile_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MonitorWindow(Base):
    """One ingested production batch and the drift/performance findings on it."""

    __tablename__ = "monitor_windows"
    __table_args__ = (UniqueConstraint("monitor_id", "number", name="uq_monitor_windows_number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    object_hash: Mapped[str] = mapped_column(String(64))
    #: The hashes of the parts of a window stored in several objects (``object_hash``
    #: is then their manifest), so that gc keeps them; null for a window in one object.
    parts: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    n_rows: Mapped[int] = mapped_column(BigInteger)
    report: Mapped[dict] = mapped_column(JSON, default=dict)
    alerts: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    """A person who signs in to the web app."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiToken(Base):
    """A hashed API token for machine clients (the ingestion endpoint)."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LabelingProject(Base):
    """A labeling plan of a dataset: who labels, how many labels per sampled item.

    ``number`` counts a dataset's plans (the latest open one is the one in use);
    ``base_version_id`` is the version the items were drawn from.
    """

    __tablename__ = "labeling_projects"
    __table_args__ = (UniqueConstraint("dataset_id", "number", name="uq_labeling_projects_number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    base_version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    labelers: Mapped[list[str]] = mapped_column(JSON, default=list)
    per_item: Mapped[int] = mapped_column(Integer, default=2)
    overlap: Mapped[float] = mapped_column(Float, default=0.2)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    prefill: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    applied_version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"), nullable=True)


class LabelingAssignment(Base):
    """One item in one labeler's queue; ``suggestion`` is the model's pre-annotation
    (never stored for an item of the agreement sample: blindness by construction)."""

    __tablename__ = "labeling_assignments"
    __table_args__ = (
        UniqueConstraint("project_id", "item_id", "labeler", name="uq_labeling_assignment"),
        Index("ix_labeling_queue", "project_id", "labeler", "status", "position"),
        Index("ix_labeling_assignment_item", "project_id", "item_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("labeling_projects.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(400))
    labeler: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    in_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    suggestion: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open, done, skipped


class LabelingLabel(Base):
    """A label submitted by a labeler (one per item and labeler; a change bumps
    ``revision``). ``label`` is None for a skip."""

    __tablename__ = "labeling_labels"
    __table_args__ = (
        UniqueConstraint("project_id", "item_id", "labeler", name="uq_labeling_label"),
        Index("ix_labeling_labels_item", "project_id", "item_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("labeling_projects.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(400))
    labeler: Mapped[str] = mapped_column(String(200))
    label: Mapped[str | None] = mapped_column(Text, nullable=True)
    unsure: Mapped[bool] = mapped_column(Boolean, default=False)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    labelbook_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    prefilled: Mapped[bool] = mapped_column(Boolean, default=False)
    in_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LabelingAdjudication(Base):
    """The label an adjudicator decided for a disagreed item (one per item; a change
    bumps ``revision``)."""

    __tablename__ = "labeling_adjudications"
    __table_args__ = (UniqueConstraint("project_id", "item_id", name="uq_labeling_adjudication"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("labeling_projects.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(400))
    label: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    labelbook_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LabelProvenance(Base):
    """Where an applied label came from: one row per item of the version it went into."""

    __tablename__ = "label_provenance"
    __table_args__ = (UniqueConstraint("version_id", "item_id", name="uq_label_provenance_item"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("labeling_projects.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(400))
    labelers: Mapped[list[str]] = mapped_column(JSON, default=list)
    labelbook_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    method: Mapped[str] = mapped_column(String(40))  # single, unanimous, majority, ...
    adjudicated_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class LabelingProgress(Base):
    """One labeler's progress in a plan: items assigned, labeled, skipped (kept in the
    transaction of each label, so that a labeler's next item reads one row instead of
    counting their queue)."""

    __tablename__ = "labeling_progress"
    __table_args__ = (UniqueConstraint("project_id", "labeler", name="uq_labeling_progress"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("labeling_projects.id", ondelete="CASCADE"))
    labeler: Mapped[str] = mapped_column(String(200))
    assigned: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)

"""Labeling projects: plans, per-labeler queues, submitted labels, adjudications and the
provenance of applied labels.

``labeling_assignments`` holds each labeler's queue (one row per item and labeler;
``in_sample`` marks the agreement sample, whose items never carry a suggestion);
``labeling_labels`` one label per item and labeler (unique: a labeler never labels an
item twice, a change bumps ``revision``); ``labeling_adjudications`` one decided label
per disagreed item; ``label_provenance`` one row per item of a version made by applying
labels (who labeled, under which label-book version, how the label was decided).

Revision ID: 0005
Revises: 0004
Create Date: 2027-01-20 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "labeling_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("base_version_id", sa.Integer(), nullable=False),
        sa.Column("labelers", sa.JSON(), nullable=False),
        sa.Column("per_item", sa.Integer(), nullable=False),
        sa.Column("overlap", sa.Float(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("prefill", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_version_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["base_version_id"], ["versions.id"]),
        sa.ForeignKeyConstraint(["applied_version_id"], ["versions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dataset_id", "number", name="uq_labeling_projects_number"),
    )
    op.create_table(
        "labeling_assignments",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=400), nullable=False),
        sa.Column("labeler", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("in_sample", sa.Boolean(), nullable=False),
        sa.Column("suggestion", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["labeling_projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "item_id", "labeler", name="uq_labeling_assignment"),
    )
    op.create_index(
        "ix_labeling_queue", "labeling_assignments", ["project_id", "labeler", "status", "position"]
    )
    op.create_index(
        "ix_labeling_assignment_item", "labeling_assignments", ["project_id", "item_id"]
    )
    _labels_table()
    op.create_table(
        "labeling_adjudications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=400), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("labelbook_version", sa.Integer(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["labeling_projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "item_id", name="uq_labeling_adjudication"),
    )
    op.create_table(
        "label_provenance",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=400), nullable=False),
        sa.Column("labelers", sa.JSON(), nullable=False),
        sa.Column("labelbook_version", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("adjudicated_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["version_id"], ["versions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["labeling_projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "item_id", name="uq_label_provenance_item"),
    )


def _labels_table() -> None:
    op.create_table(
        "labeling_labels",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=400), nullable=False),
        sa.Column("labeler", sa.String(length=200), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("unsure", sa.Boolean(), nullable=False),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("labelbook_version", sa.Integer(), nullable=True),
        sa.Column("prefilled", sa.Boolean(), nullable=False),
        sa.Column("in_sample", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["labeling_projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "item_id", "labeler", name="uq_labeling_label"),
    )
    op.create_index("ix_labeling_labels_item", "labeling_labels", ["project_id", "item_id"])


def downgrade() -> None:
    for table in (
        "label_provenance",
        "labeling_adjudications",
        "labeling_labels",
        "labeling_assignments",
        "labeling_projects",
    ):
        op.drop_table(table)

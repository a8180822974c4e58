"""Decisions as immutable rows, object leases for gc, named locks, server-side sessions,
one window per number.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("labelbook_version", sa.Integer(), nullable=True),
        sa.Column("applied_version_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["entry_id"], ["review_items.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["applied_version_id"], ["versions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_review_decisions_entry", "review_decisions", ["entry_id"])
    with op.batch_alter_table("review_items") as batch:
        batch.add_column(sa.Column("decision_id", sa.Integer(), nullable=True))
    _backfill_decisions()
    op.create_table(
        "object_leases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_object_leases_digest", "object_leases", ["digest"])
    op.create_table(
        "locks",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_web_sessions_user", "web_sessions", ["user_id"])
    with op.batch_alter_table("monitor_windows") as batch:
        batch.create_unique_constraint("uq_monitor_windows_number", ["monitor_id", "number"])


def _backfill_decisions() -> None:
    """Entries decided before this revision get their decision as a row."""
    op.execute(
        """
        INSERT INTO review_decisions
            (entry_id, action, label, note, actor, at, labelbook_version, applied_version_id)
        SELECT id, decision, decision_label, note, COALESCE(decided_by, 'unknown'),
               COALESCE(decided_at, created_at), labelbook_version, applied_version_id
        FROM review_items WHERE decision IS NOT NULL
        """
    )
    op.execute(
        """
        UPDATE review_items SET decision_id = (
            SELECT MAX(d.id) FROM review_decisions d WHERE d.entry_id = review_items.id
        ) WHERE decision IS NOT NULL
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("monitor_windows") as batch:
        batch.drop_constraint("uq_monitor_windows_number", type_="unique")
    op.drop_index("ix_web_sessions_user", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("locks")
    op.drop_index("ix_object_leases_digest", table_name="object_leases")
    op.drop_table("object_leases")
    with op.batch_alter_table("review_items") as batch:
        batch.drop_column("decision_id")
    op.drop_index("ix_review_decisions_entry", table_name="review_decisions")
    op.drop_table("review_decisions")

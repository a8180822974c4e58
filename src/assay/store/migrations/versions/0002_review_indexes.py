"""Indexes for the review queue: its order (score, id) and lookups by item.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 08:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_review_queue_order", "review_items", ["dataset_id", "status", "score", "id"]
    )
    op.create_index("ix_review_dataset_item", "review_items", ["dataset_id", "item_id"])


def downgrade() -> None:
    op.drop_index("ix_review_dataset_item", table_name="review_items")
    op.drop_index("ix_review_queue_order", table_name="review_items")

"""A dataset's kind of label, fixed at its first import, and its ordered label names.

``datasets.task`` names the registered :class:`~assay.tasks.Task` of the dataset
(every dataset before this revision is single-label classification);
``datasets.label_names`` is the ordered list of label names of a multi-label dataset
(the 0/1 columns of its first import, or the labels its lists used), else null.

Revision ID: 0004
Revises: 0003
Create Date: 2027-01-12 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ... ADD COLUMN on both backends: SQLite's batch mode would copy
    # the table, and dropping the old one cascades to every version (foreign keys on).
    op.add_column(
        "datasets",
        sa.Column("task", sa.String(length=40), nullable=False, server_default="classification"),
    )
    op.add_column("datasets", sa.Column("label_names", sa.JSON(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), for the same reason: no table copy.
    op.execute("ALTER TABLE datasets DROP COLUMN label_names")
    op.execute("ALTER TABLE datasets DROP COLUMN task")

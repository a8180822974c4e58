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
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(
            sa.Column(
                "task",
                sa.String(length=40),
                nullable=False,
                server_default="classification",
            )
        )
        batch.add_column(sa.Column("label_names", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("label_names")
        batch.drop_column("task")

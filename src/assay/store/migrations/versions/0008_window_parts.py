"""Monitor windows stored in several objects: ``monitor_windows.parts`` lists them.

A window ingested from a Dask DataFrame or a folder of Parquet files is checked and
written chunk by chunk, as several Parquet objects and one manifest naming them;
``monitor_windows.object_hash`` is the manifest's hash and ``monitor_windows.parts``
the parts' hashes, so that gc keeps the parts (null for a window in one object).

Revision ID: 0008
Revises: 0007
Create Date: 2027-03-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ... ADD COLUMN (see 0004: a SQLite batch copy would cascade).
    op.add_column("monitor_windows", sa.Column("parts", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE monitor_windows DROP COLUMN parts")

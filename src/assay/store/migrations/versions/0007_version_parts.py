"""Versions stored in several objects: ``versions.parts`` lists their parts' hashes.

A version imported by streaming (a folder of Parquet files, a Dask DataFrame, a large
Parquet file) is written as several Parquet objects and one manifest object naming
them; ``versions.object_hash`` is the manifest's hash and ``versions.parts`` the
parts' hashes, so that gc keeps the parts (null for a version in one object).

Revision ID: 0007
Revises: 0006
Create Date: 2027-02-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ... ADD COLUMN (see 0004: a SQLite batch copy would cascade).
    op.add_column("versions", sa.Column("parts", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE versions DROP COLUMN parts")

"""The workspace: one facade over the metadata database and the object store.

A workspace lives in a folder: ``PATH/.assay/assay.db`` (SQLite, WAL) holds the
metadata unless ``.assay/config.json`` names a PostgreSQL URL, and
``PATH/.assay/objects/`` holds the immutable Parquet objects, unless ``config.json``
names an object URL (``assay init PATH --objects s3://bucket/prefix``; see
:mod:`assay.store._fsspec_objects`). Writes go object first,
then one SQL transaction, so a crash never leaves a half version.
"""

from __future__ import annotations

import getpass
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from assay.exceptions import ConflictError, InputError, NotFoundError
from assay.store import analyses
from assay.store import models as m
from assay.store.annotations import AnnotationStore
from assay.store.datasets import (
    DatasetVersion,
    Roles,
    conform_role_types,
    csv_text_column,
    resolve_roles,
    validate_table,
)
from assay.store.db import connect, database_error, describe_url, ensure_schema, known_failure
from assay.store.diff import DatasetDiff, diff_tables
from assay.store.labelbook import LabelBookStore
from assay.store.labeling import awaiting_labels, mark_awaiting
from assay.store.monitors import MonitorStore

if TYPE_CHECKING:
    from assay.store.experiments import ExperimentStore
from assay.store.label_import import (
    PreparedLabels,
    as_stored_labels,
    check_allowed_names,
    prepare_labels,
)
from assay.store.objects import (
    DEFAULT_GRACE_S,
    LeaseBook,
    PendingObject,
    is_object_url,
    open_object_store,
)
from assay.store.readers import RowNames, os_reason, read_source, write_table
from assay.store.recipes import RecipeStore
from assay.store.refs import Ref, check_name, check_sql_int, parse_ref
from assay.store.review import ReviewQueue
from assay.store.stream_sources import is_streamed_source
from assay.tasks import DEFAULT_KIND, Task, get_task

__all__ = ["Workspace", "current_user"]

_DIR = ".assay"


def current_user() -> str:
    """Who is acting: ``$ASSAY_USER``, else the login name."""
    try:
        return os.environ.get("ASSAY_USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _is_url(text: str) -> bool:
    return "://" in text


class Workspace:
    """A data-centric workspace: versioned datasets, annotations, reviews, monitors.

    Parameters
    ----------
    path_or_url : str or path, default "."
        A workspace folder (made by :meth:`init`), or a database URL; with a URL,
        ``objects`` must name the folder for row data.
    objects : str or path, optional
        The object folder, for a workspace given as a URL.

    Examples
    --------
    >>> ws = Workspace.init("my-ws")                         # doctest: +SKIP
    >>> ws.import_dataset("digits", df, label="label")       # doctest: +SKIP
    >>> ws.dataset("digits@v1").to_pandas()                  # doctest: +SKIP
    """

    def __init__(self, path_or_url: str | os.PathLike[str] = ".", *, objects: Any = None) -> None:
        text = os.fspath(path_or_url)
        cache_dir: Path | None = None
        if _is_url(text):
            if objects is None:
                raise InputError(
                    "a workspace opened by database URL needs objects=FOLDER (or a URL such "
                    "as s3://bucket/prefix) for its row data; or open the workspace folder "
                    "made by `assay init PATH --db URL`."
                )
            self.root: Path | None = None
            self.url = text
        else:
            self.root = Path(text).expanduser().resolve()
            config = self.root / _DIR / "config.json"
            if not _exists(config):
                raise NotFoundError(
                    f"no assay workspace at {self.root}; create one with `assay init {text}` "
                    "(or pass --workspace / set ASSAY_WORKSPACE)."
                )
            settings = json.loads(config.read_text())
            self.url = settings.get("db") or f"sqlite:///{self.root / _DIR / 'assay.db'}"
            if objects is None:
                objects = settings.get("objects") or self.root / _DIR / "objects"
            cache_dir = self.root / _DIR / "cache" / "objects"
        self.objects = open_object_store(
            objects if is_object_url(objects) else Path(objects),
            LeaseBook(self.session),
            cache_dir=cache_dir,
        )
        self.engine: Engine = connect(self.url)
        ensure_schema(self.engine, self.location)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            self.engine.execution_options(assay_readonly=True), expire_on_commit=False
        )

    @classmethod
    def init(
        cls,
        path: str | os.PathLike[str] = ".",
        *,
        db: str | None = None,
        objects: str | None = None,
    ) -> Workspace:
        """Create (or reopen) a workspace folder, optionally with PostgreSQL and a bucket.

        Parameters
        ----------
        path : str or path
            The workspace folder (it holds the settings, and the objects by default).
        db : str, optional
            A PostgreSQL URL for the metadata (default: embedded SQLite).
        objects : str, optional
            An fsspec URL for the row data, e.g. ``s3://bucket/prefix`` (``gs://``,
            ``az://``, ``file://`` too); credentials come from the backend's usual
            environment or config and are never stored.

        The database is reached and migrated, and the object URL written to once,
        before anything is written to ``path``, so a store that cannot be reached
        leaves no folder behind.
        """
        root = Path(path).expanduser().resolve()
        if _exists(root) and not root.is_dir():
            raise InputError(f"{root} is a file; give a folder for the workspace.")
        config = root / _DIR / "config.json"
        if _exists(config):
            _check_same(root, json.loads(config.read_text()), db=db, objects=objects)
            return cls(root)
        if db is not None:
            engine = connect(db)
            ensure_schema(engine, describe_url(db))
            engine.dispose()
        if objects is not None:
            _probe_objects(objects)
        try:
            (root / _DIR / ("cache" if objects else "objects")).mkdir(parents=True, exist_ok=True)
            tmp = config.with_suffix(".tmp")
            settings = {"db": db, "format": 1, **({"objects": objects} if objects else {})}
            tmp.write_text(json.dumps(settings, indent=2))
            os.replace(tmp, config)
        except OSError as exc:
            raise InputError(
                f"cannot create a workspace at {root}: {os_reason(exc)}; choose a folder "
                "you can write to."
            ) from exc
        return cls(root)

    @property
    def location(self) -> str:
        """The folder, or the database URL (password hidden)."""
        return str(self.root) if self.root is not None else describe_url(self.url)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Workspace {self.location}>"

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on error.

        On SQLite a transaction takes the write lock when it begins (``BEGIN
        IMMEDIATE``), so a read-then-write never fails half way; ``readonly=True``
        opens a transaction that only reads and never waits for writers.
        """
        try:
            with (self._read_sessions if readonly else self._sessions).begin() as session:
                yield session
        except OperationalError as exc:  # the file, disk, lock or server failed
            raise database_error(exc, self.url) from exc
        except DatabaseError as exc:  # damaged file; read-only server, permissions
            if type(exc) is not DatabaseError and not known_failure(exc):
                raise  # e.g. IntegrityError: the caller's to handle
            raise database_error(exc, self.url) from exc

    # ------------------------------------------------------------------ datasets
    def datasets(self) -> list[DatasetVersion]:
        """The latest version of every dataset, by name."""
        with self.session(readonly=True) as s:
            names = s.scalars(select(m.Dataset.name).order_by(m.Dataset.name)).all()
        return [self.dataset(name) for name in names]

    def _dataset_row(self, s: Session, name: str) -> m.Dataset:
        row = s.scalar(select(m.Dataset).where(m.Dataset.name == name))
        if row is None:
            known = ", ".join(s.scalars(select(m.Dataset.name).order_by(m.Dataset.name)).all())
            raise NotFoundError(
                f"no dataset named {name!r} in {self.location}"
                + (f"; datasets: {known}." if known else "; import one with `assay import`.")
            )
        return row

    def _version_row(self, s: Session, ds: m.Dataset, number: int | None) -> m.Version:
        query = select(m.Version).where(m.Version.dataset_id == ds.id)
        if number is not None:
            check_sql_int(number, f"the version number of {ds.name}")
        if number is None:
            row = s.scalar(query.order_by(m.Version.number.desc()).limit(1))
        else:
            row = s.scalar(query.where(m.Version.number == number))
        if row is None:
            last = s.scalar(select(func.max(m.Version.number)).where(m.Version.dataset_id == ds.id))
            raise NotFoundError(
                f"dataset {ds.name!r} has no version v{number}; it has v1 to v{last} "
                f"(see `assay log {ds.name}`)."
            )
        return row

    def _make_version(self, s: Session, ds: m.Dataset, v: m.Version) -> DatasetVersion:
        parent = s.get(m.Version, v.parent_id) if v.parent_id is not None else None
        roles = Roles(
            label=ds.label_column,
            id=ds.id_column,
            tags=tuple(ds.tag_columns or ()),
            split=ds.split_column,
            media=ds.media_column,
        )
        return DatasetVersion(
            task_kind=ds.task,
            label_names=None if ds.label_names is None else tuple(ds.label_names),
            workspace=self,
            name=ds.name,
            number=v.number,
            id=v.id,
            parent_number=parent.number if parent else None,
            object_hash=v.object_hash,
            n_rows=v.n_rows,
            columns=list(v.columns),
            message=v.message,
            author=v.author,
            created_at=v.created_at,
            summary=dict(v.summary),
            provenance=dict(v.provenance),
            roles=roles,
            modality=ds.modality,
            media_root=ds.media_root,
        )

    def dataset(self, ref: str | Ref) -> DatasetVersion:
        """A version by reference: ``"digits"`` (latest) or ``"digits@v2"``."""
        parsed = ref if isinstance(ref, Ref) else parse_ref(ref)
        with self.session(readonly=True) as s:
            ds = self._dataset_row(s, parsed.name)
            return self._make_version(s, ds, self._version_row(s, ds, parsed.number))

    def log(self, name: str) -> list[DatasetVersion]:
        """Every version of dataset ``name``, newest first."""
        with self.session(readonly=True) as s:
            ds = self._dataset_row(s, parse_ref(name).name)
            rows = s.scalars(
                select(m.Version)
                .where(m.Version.dataset_id == ds.id)
                .order_by(m.Version.number.desc())
            ).all()
            return [self._make_version(s, ds, v) for v in rows]

    def import_dataset(
        self,
        name: str,
        source: Any,
        *,
        label: str | Sequence[str] | None = None,
        id: str | None = None,
        tags: Sequence[str] | None = None,
        split: str | None = None,
        message: str | None = None,
        author: str | None = None,
        task: str | None = None,
        label_sep: str | None = None,
    ) -> DatasetVersion:
        """Import a file, folder or DataFrame as a new version of dataset ``name``.

        A dataset's column roles (label, id, tags, split, media paths) and its kind of
        label (``task``) are set at its first import and kept: a later import may leave
        them out, must have their columns, and may not name other ones.

        Parameters
        ----------
        name : str
            The dataset; created on first import, else a new version is added.
        source : path or DataFrame
            CSV, Parquet, JSONL, a folder ``root/<class>/<file>``, or a DataFrame.
        label : str or list of str, optional
            The label column; ``"label"`` at a first import (and for folders) when
            left out, the dataset's label column after. Several names (``["a", "b"]``)
            are 0/1 columns of a multi-label set, stored as one list column
            ``labels`` in that label order.
        id : str, optional
            A column of unique item ids; by default rows are numbered ``0 .. n-1``.
        tags : list of str, optional
            Metadata columns used for slicing (error analysis).
        split : str, optional
            A column naming each row's split (e.g. train / test).
        task : {"classification", "regression", "multilabel"}, optional
            The kind of label. At a first import it is detected when left out: a float
            label column is a regression, a list column (Parquet/JSONL lists, a CSV
            column of JSON lists, several 0/1 columns, ``label_sep``) multi-label, any
            other (integers, text) classification. Fixed after the first import.
        label_sep : str, optional
            Split a text label column on this separator into label sets (``"a|c"``).

        Raises
        ------
        InputError
            A source that cannot be read, a missing label or id, a role column that
            is absent or is another role's, a re-import that changes the roles or the
            kind, labels that are not of the kind (not finite numbers; not lists; a
            list naming a label outside the label book or the dataset's label list).
        """
        check_name(name)
        options = ImportOptions(label, id, tags, split, task, label_sep)
        if is_streamed_source(source):  # a folder of Parquet files, a Dask DataFrame ...
            from assay.store.streamed import import_streamed

            return import_streamed(self, name, source, options, message, author)
        table, info = read_source(source)
        where = str(source) if not hasattr(source, "columns") else "the DataFrame"
        base = self._latest_or_none(name)
        table, roles, prepared = self.prepare_import_chunk(
            name, table, info, where, base, base.roles if base else None, options, source
        )
        kind = get_task(prepared.kind)
        names = self._label_names(name, base, kind, table.column(roles.label), prepared)
        info = {**info, "task": prepared.kind, "label_names": names}
        provenance = import_provenance(where, info, prepared, label_sep)
        text = message or f"import {Path(where).name if where != 'the DataFrame' else where}"
        return self._commit(name, table, roles, info, text, author, provenance, base=base)

    def prepare_import_chunk(
        self,
        name: str,
        table: pa.Table,
        info: dict[str, Any],
        where: str,
        base: DatasetVersion | None,
        base_roles: Roles | None,
        options: ImportOptions,
        source: Any = None,
    ) -> tuple[pa.Table, Roles, PreparedLabels]:
        """Check and type the rows of an import (all of it, or one chunk of a stream).

        ``base_roles`` are the roles to keep: the dataset's, or those resolved from a
        stream's first chunk. Returns the table (generated ids ``0 .. n-1`` added), the
        roles and the prepared labels; raises :class:`InputError` as
        :meth:`import_dataset` says.
        """
        label = options.label if options.label is not None else info.get("label")
        task = options.task if options.task is not None else info.get("task")
        rows = info.get("rows") or RowNames("index")
        table = awaiting_labels(  # no label column: the items await labels
            table, label, base.roles.label if base else None, base.task_kind if base else task
        )
        prepared = prepare_labels(
            table,
            dataset=name,
            label=label,
            task=task,
            label_sep=options.label_sep,
            base_kind=base.task_kind if base is not None else None,
            base_label=base.roles.label if base is not None else None,
            base_names=base.label_names if base is not None else None,
            where=where,
            rows=rows,
        )
        table = prepared.table
        roles = resolve_roles(
            name,
            base_roles,
            table,
            where,
            label=prepared.label if prepared.label is not None else _one(label),
            id=options.id,
            tags=options.tags,
            split=options.split,
            media=info.get("media_column"),
        )
        if base is not None:  # ids and labels keep the types of the first import
            table = conform_role_types(
                name, table, base.schema, roles, where, info.get("rows"), _text_of(source, info)
            )
        kind = get_task(prepared.kind)
        table = validate_table(table, roles, where, info.get("rows"), kind)
        names = self._label_names(name, base, kind, table.column(roles.label), prepared)
        self._check_label_names(name, base, kind, table, roles, names, where, rows)
        return table, roles, prepared

    def _label_names(
        self,
        name: str,
        base: DatasetVersion | None,
        task: Task,
        column: pa.ChunkedArray,
        prepared: PreparedLabels,
    ) -> list[str] | None:
        """The label list recorded at a first import: the 0/1 columns in their order, or
        the names the labels use (kinds with a list of names); kept after."""
        if base is not None:
            return None if base.label_names is None else list(base.label_names)
        if prepared.label_columns:
            return list(prepared.label_columns)
        return task.label_names(column)

    def _check_label_names(
        self,
        name: str,
        base: DatasetVersion | None,
        task: Task,
        table: pa.Table,
        roles: Roles,
        names: Sequence[str] | None,
        where: str,
        rows: RowNames,
    ) -> None:
        """Refuse labels outside the label book, else outside the dataset's label list."""
        allowed, source = self.allowed_label_names(name, names)
        if base is None and source != "the label book":
            return  # a first import defines the label list
        check_allowed_names(
            task,
            table.column(roles.label),
            allowed,
            name=roles.label,
            where=where,
            rows=rows,
            source=source,
        )

    def allowed_label_names(
        self, name: str, names: Sequence[str] | None = None
    ) -> tuple[list[str] | None, str]:
        """The label names a dataset's labels may use, and where they come from.

        The latest label book's classes when the dataset has one, else the dataset's
        label list (``names``, default the one recorded at its first import), else
        None (any name).
        """
        with self.session(readonly=True) as s:
            ds = s.scalar(select(m.Dataset).where(m.Dataset.name == name))
            if ds is None:
                return (None if names is None else list(names)), "the dataset's label list"
            book = s.scalar(
                select(m.LabelBookVersion.content)
                .where(m.LabelBookVersion.dataset_id == ds.id)
                .order_by(m.LabelBookVersion.number.desc())
                .limit(1)
            )
            recorded = ds.label_names
        if book and book.get("classes"):
            return [str(c) for c in book["classes"]], "the label book"
        listed = names if names is not None else recorded
        return (None if listed is None else list(listed)), f"dataset {name!r}'s label list"

    def commit(
        self,
        name: str,
        data: Any,
        *,
        message: str,
        author: str | None = None,
        parent: str | None = None,
        provenance: dict[str, Any] | None = None,
        on_commit: Callable[[Session, m.Version], None] | None = None,
    ) -> DatasetVersion:
        """Store a changed table (DataFrame or Arrow) as a new version of ``name``.

        The dataset's column roles are kept. ``parent`` names the version the change
        was computed from (default: the latest); it must still be the latest when the
        version is written (compare-and-swap), else nothing is written and
        :class:`~assay.exceptions.ConflictError` says the dataset moved.
        ``on_commit(session, version_row)`` runs inside the version's transaction, for
        writes that must land together with it (e.g. marking review decisions applied).
        """
        base = self.dataset(parent or name)
        info = {"modality": base.modality, "media_root": base.media_root}
        if is_streamed_source(data):  # a Dask DataFrame, a folder of Parquet files ...
            from assay.store.streamed import commit_streamed

            return commit_streamed(
                self, name, data, base, message, author, provenance or {}, on_commit
            )
        table, read = read_source(data)
        table = self.prepare_commit_chunk(name, table, read, base, f"the new version of {name}")
        return self._commit(
            name,
            table,
            base.roles,
            info,
            message,
            author,
            provenance or {},
            base=base,
            on_commit=on_commit,
        )

    def prepare_commit_chunk(
        self, name: str, table: pa.Table, read: dict[str, Any], base: DatasetVersion, where: str
    ) -> pa.Table:
        """Check and type the rows of a changed version (or one chunk of a stream) as
        :meth:`commit` does; returns the table with generated ids added if needed."""
        table = conform_role_types(name, table, base.schema, base.roles, where, read.get("rows"))
        rows = read.get("rows") or RowNames("index")
        table = as_stored_labels(table, base.roles.label, base.task, where, rows)
        table = mark_awaiting(table, base.roles.label)  # a version of items awaiting labels
        table = validate_table(table, base.roles, where, read.get("rows"), base.task)
        self._check_label_names(
            name, base, base.task, table, base.roles, base.label_names, where, rows
        )
        return table

    def _commit(
        self,
        name: str,
        table: pa.Table,
        roles: Roles,
        info: dict[str, Any],
        message: str,
        author: str | None,
        provenance: dict[str, Any],
        base: DatasetVersion | None,
        on_commit: Callable[[Session, m.Version], None] | None = None,
    ) -> DatasetVersion:
        """Write ``table`` as the version after ``base`` (None: the first version)."""
        summary = self._summary(base, table, roles)
        with self.writing_object(table) as obj:  # object first (leased) ...
            _fault_point("before_commit")
            version = self._add_version(
                name,
                obj,
                (table.num_rows, table.column_names),
                roles,
                info,
                message,
                author,
                summary,
                provenance,
                base,
                on_commit,
            )
        return version

    def _add_version(
        self,
        name: str,
        obj: PendingObject,
        shape: tuple[int, list[str]],
        roles: Roles,
        info: dict[str, Any],
        message: str,
        author: str | None,
        summary: dict[str, Any],
        provenance: dict[str, Any],
        base: DatasetVersion | None,
        on_commit: Callable[[Session, m.Version], None] | None,
        parts: Sequence[PendingObject] = (),
    ) -> DatasetVersion:
        """One transaction: the version row, ``on_commit``'s writes, the leases released.

        ``shape`` is ``(rows, column names)``; ``parts`` the objects of a version split
        into parts (``obj`` is then their manifest)."""
        try:
            with self.session() as s:
                ds = self._get_or_create(s, name, roles, info)
                head = s.scalar(
                    select(func.max(m.Version.number)).where(m.Version.dataset_id == ds.id)
                )
                _check_head(name, base, head)
                number = (head or 0) + 1
                row = m.Version(
                    dataset_id=ds.id,
                    number=number,
                    parent_id=base.id if base else None,
                    object_hash=obj.digest,
                    n_rows=shape[0],
                    columns=list(shape[1]),
                    parts=[part.digest for part in parts] or None,
                    message=message,
                    author=author or current_user(),
                    summary=summary,
                    provenance=provenance,
                )
                s.add(row)
                s.flush()
                if on_commit is not None:  # more writes in the same transaction
                    on_commit(s, row)
                for part in parts:
                    part.release(s)
                obj.release(s)  # referenced from now on: the lease goes in the same commit
                version = self._make_version(s, ds, row)
        except IntegrityError as exc:  # a concurrent writer took the same number
            raise ConflictError(
                f"{name} moved (another process added a version at the same time) while "
                "you worked; nothing was written: run the command again."
            ) from exc
        return version

    def _latest_or_none(self, name: str) -> DatasetVersion | None:
        try:
            return self.dataset(name)
        except NotFoundError:
            return None

    def _get_or_create(
        self, s: Session, name: str, roles: Roles, info: dict[str, Any]
    ) -> m.Dataset:
        ds = s.scalar(select(m.Dataset).where(m.Dataset.name == name))
        if ds is None:
            ds = m.Dataset(
                name=name,
                label_column=roles.label,
                id_column=roles.id,
                tag_columns=list(roles.tags),
                split_column=roles.split,
                media_column=roles.media,
                media_root=info.get("media_root"),
                modality=info.get("modality", "tabular"),
                task=info.get("task") or DEFAULT_KIND,
                label_names=info.get("label_names"),
            )
            s.add(ds)
            s.flush()
        return ds

    def _summary(
        self, base: DatasetVersion | None, table: pa.Table, roles: Roles
    ) -> dict[str, Any]:
        if base is None:
            return {
                "rows": table.num_rows,
                "added": table.num_rows,
                "removed": 0,
                "relabeled": 0,
                "changed": 0,
            }
        if self.objects.parts(base.object_hash, what=base.ref) is not None:
            from assay.store.streamed import PartDiff

            part_diff = PartDiff(self, base, roles, "new", keep_rows=False)
            part_diff.add(table)  # the base is read part by part
            return version_summary(table.num_rows, part_diff.result(table.schema))
        delta = diff_tables(
            base.to_arrow(),
            table,
            id_column=roles.id,
            label_column=roles.label,
            names=(base.ref, "new"),
            task=base.task,
        )
        return version_summary(table.num_rows, delta)

    def diff(self, a: str, b: str) -> DatasetDiff:
        """Item-level differences between two versions (``NAME@vA``, ``NAME@vB``)."""
        va, vb = self.dataset(a), self.dataset(b)
        if va.name != vb.name:
            raise InputError(
                f"{va.ref} and {vb.ref} are different datasets; diff two versions of one dataset."
            )
        if any(self.objects.parts(v.object_hash, what=v.ref) is not None for v in (va, vb)):
            from assay.store.streamed import diff_versions

            return diff_versions(self, va, vb)
        return diff_tables(
            va.to_arrow(),
            vb.to_arrow(),
            id_column=vb.roles.id,
            label_column=vb.roles.label,
            names=(va.ref, vb.ref),
            task=vb.task,
        )

    def export(self, ref: str, path: str | os.PathLike[str]) -> Path:
        """Write a version to CSV, Parquet or JSONL (by extension), atomically."""
        version = self.dataset(ref)
        parts = self.objects.parts(version.object_hash, what=version.ref)
        if parts is None:
            return write_table(version.to_arrow(), path)
        tables = (self.objects.get_table(digest, what=version.ref) for digest, _ in parts)
        return write_table(tables, path)  # part by part: memory bounded by one part

    def writing_object(self, table: pa.Table) -> AbstractContextManager[PendingObject]:
        """Write ``table`` as an object that gc leaves alone until it is referred to.

        Use it for every row that refers to a new object::

            with ws.writing_object(table) as obj:
                with ws.session() as s:
                    s.add(Row(object_hash=obj.digest))
                    obj.release(s)  # in the same transaction as the reference

        The lease is taken before the object is written; an error in the block drops it
        (the object, if published, is an orphan for gc after the grace period).
        """
        return self.objects.writing(table)

    def referenced_objects(self) -> set[str]:
        """Every object hash that some metadata row points at."""
        with self.session(readonly=True) as s:
            refs = set(s.scalars(select(m.Version.object_hash)).all())
            for parts in s.scalars(select(m.Version.parts).where(m.Version.parts.isnot(None))):
                refs.update(parts or ())
            refs |= {h for h in s.scalars(select(m.Analysis.object_hash)).all() if h}
            refs |= {h for h in s.scalars(select(m.Monitor.profile_hash)).all() if h}
            refs |= set(s.scalars(select(m.MonitorWindow.object_hash)).all())
            for parts in s.scalars(
                select(m.MonitorWindow.parts).where(m.MonitorWindow.parts.isnot(None))
            ):
                refs.update(parts or ())
        return refs

    # ----------------------------------------------------------------- analyses
    def record_analysis(
        self,
        kind: str,
        result: dict[str, Any],
        *,
        dataset: str | None = None,
        params: dict[str, Any] | None = None,
        recipe_hash: str | None = None,
        table: pa.Table | None = None,
        duration_s: float | None = None,
    ) -> int:
        """Record an analysis with its data version (see
        :func:`assay.store.analyses.record_analysis`); returns its id."""
        return analyses.record_analysis(
            self,
            kind,
            result,
            dataset=dataset,
            params=params,
            recipe_hash=recipe_hash,
            table=table,
            duration_s=duration_s,
        )

    def analyses(
        self, kind: str | None = None, *, dataset: str | None = None
    ) -> list[dict[str, Any]]:
        """Recorded analyses, newest first; see :func:`assay.store.analyses.list_analyses`."""
        return analyses.list_analyses(self, kind, dataset=dataset)

    def analysis_table(self, analysis: dict[str, Any]) -> pa.Table | None:
        """The per-row results stored with an analysis, if any."""
        return analyses.analysis_table(self, analysis)

    @property
    def review(self) -> ReviewQueue:
        """The review queue."""
        return ReviewQueue(self)

    @property
    def annotations(self) -> AnnotationStore:
        """Annotations: several labels per item, by annotator."""
        return AnnotationStore(self)

    @property
    def recipes(self) -> RecipeStore:
        """Registered model recipes."""
        return RecipeStore(self)

    @property
    def experiments(self) -> ExperimentStore:
        """Experiments: the fixed recipe trained on a version, measured on an eval set."""
        from assay.store.experiments import ExperimentStore

        return ExperimentStore(self)

    @property
    def monitors(self) -> MonitorStore:
        """Production monitors: reference profiles and ingested windows."""
        return MonitorStore(self)

    @property
    def labelbook(self) -> LabelBookStore:
        """The versioned label books."""
        return LabelBookStore(self)

    def gc(self, *, grace_s: float = DEFAULT_GRACE_S) -> list[str]:
        """Delete objects that no version, analysis or monitor refers to.

        Objects a running write holds a lease on are kept, and so is every file younger
        than ``grace_s`` seconds (default one hour): gc can run beside imports.
        """
        return self.objects.gc(self.referenced_objects, grace_s=grace_s)


@dataclass(frozen=True)
class ImportOptions:
    """The column roles and label options of :meth:`Workspace.import_dataset`."""

    label: str | Sequence[str] | None = None
    id: str | None = None
    tags: Sequence[str] | None = None
    split: str | None = None
    task: str | None = None
    label_sep: str | None = None


def import_provenance(
    where: str, info: dict[str, Any], prepared: PreparedLabels, label_sep: str | None
) -> dict[str, Any]:
    """Where an import came from: source, format (and separator, decimal, label columns)."""
    provenance: dict[str, Any] = {"source": where, "format": info["format"]}
    provenance.update({k: info[k] for k in ("separator", "decimal") if k in info})
    if prepared.label_columns:
        provenance["label_columns"] = list(prepared.label_columns)
    if label_sep is not None:
        provenance["label_sep"] = label_sep
    return provenance


def version_summary(n_rows: int, delta: DatasetDiff) -> dict[str, Any]:
    """A version's summary: its rows and what changed from its parent (the counts of a
    diff that kept only counts are in ``delta.extra["counts"]``)."""
    counts = delta.extra.get("counts") or delta.counts
    summary: dict[str, Any] = {
        "rows": n_rows,
        **{k: counts[k] for k in ("added", "removed", "relabeled", "changed")},
    }
    if delta.columns_added:
        summary["columns_added"] = delta.columns_added
    if delta.columns_removed:
        summary["columns_removed"] = delta.columns_removed
    return summary


def _one(label: str | Sequence[str] | None) -> str | None:
    """A single label column's name (``["y"]`` is ``"y"``)."""
    if label is None or isinstance(label, str):
        return label
    return str(label[0]) if len(label) == 1 else None


def _text_of(source: Any, info: dict[str, Any]) -> Callable[[str], pa.ChunkedArray] | None:
    """For a CSV/TSV file, a reader of a column as written (``007`` stays ``"007"``)."""
    if info.get("format") not in ("csv", "tsv"):
        return None
    default = "," if info["format"] == "csv" else "\t"
    reader: Callable[[str], pa.ChunkedArray] = csv_text_column(
        Path(os.fspath(source)).expanduser(), info.get("separator", default)
    )
    return reader


def _exists(path: Path) -> bool:
    """Whether ``path`` exists; a path the system refuses (too long, ...) is an input error."""
    try:
        return path.exists()
    except OSError as exc:
        raise InputError(
            f"cannot use {path}: {os_reason(exc)}; give another workspace folder "
            "(e.g. a shorter path)."
        ) from exc


def _check_same(
    root: Path, settings: dict[str, Any], *, db: str | None, objects: str | None
) -> None:
    """Refuse to re-init a workspace with another database or object store."""
    existing = settings.get("db")
    if db is not None and db != existing:
        raise InputError(
            f"{root} is already a workspace with database "
            f"{describe_url(existing or 'sqlite (embedded)')}; choose another folder."
        )
    stored = settings.get("objects")
    if objects is not None and objects.rstrip("/") != (stored or "").rstrip("/"):
        raise InputError(
            f"{root} is already a workspace with objects in {stored or '.assay/objects'}; "
            "choose another folder."
        )


def _probe_objects(url: str) -> None:
    """Check that an object URL can be written (bucket, credentials) before init."""
    if not is_object_url(url):
        raise InputError(
            f"--objects takes a URL such as s3://bucket/prefix or file:///path, not {url!r}; "
            "a plain folder needs no option (objects go in PATH/.assay/objects)."
        )
    from assay.store._fsspec_objects import FsspecObjectStore

    with tempfile.TemporaryDirectory() as cache:
        FsspecObjectStore(url, cache_dir=cache).probe()


def _check_head(name: str, base: DatasetVersion | None, head: int | None) -> None:
    """Compare-and-swap: the version a change was computed from must still be the latest.

    Raises
    ------
    ConflictError
        When another writer added a version of ``name`` since ``base`` was read.
    """
    seen = base.number if base is not None else None
    if head == seen:
        return
    if seen is None:
        raise ConflictError(
            f"{name} was created (as v{head}) by someone else while you worked; nothing was "
            f"written: compare with `assay show {name}` and run the command again."
        )
    raise ConflictError(
        f"{name} moved to v{head} while you worked (your change was computed from "
        f"{name}@v{seen}); nothing was written: rerun it on {name}@v{head}."
    )


def _fault_point(name: str) -> None:
    """Test hooks at named points of a write (crash-safety and race tests).

    ``ASSAY_FAULT_SLEEP=NAME:SECONDS`` sleeps there. ``ASSAY_FAULT_GATE=NAME:FOLDER``
    makes the process, on its k-th arrival, create ``FOLDER/reached.k`` and wait (at
    most 5 minutes) until ``FOLDER/go.k`` exists: a test acts while a write is held
    at a known point, with no timing to guess.
    """
    import time

    spec = os.environ.get("ASSAY_FAULT_SLEEP", "")
    if spec.startswith(name + ":"):
        time.sleep(float(spec.split(":", 1)[1]))
    gate = os.environ.get("ASSAY_FAULT_GATE", "")
    if gate.startswith(name + ":"):
        folder = Path(gate.split(":", 1)[1])
        _GATE_ARRIVALS[name] = arrival = _GATE_ARRIVALS.get(name, 0) + 1
        (folder / f"reached.{arrival}").touch()
        deadline = time.monotonic() + 300
        while not (folder / f"go.{arrival}").exists() and time.monotonic() < deadline:
            time.sleep(0.02)


_GATE_ARRIVALS: dict[str, int] = {}

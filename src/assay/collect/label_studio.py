"""Label Studio exports of choice tasks: JSON, JSON-MIN and CSV, and annotator maps.

The three export formats carry the same annotations in two shapes:

- **JSON** (the full export): one object per task, its ``data`` and its
  ``annotations``, each with a ``result`` list naming the control (``from_name``) of
  every value. A project with several ``<Choices>`` controls is read only with
  ``from_name`` naming one: reading the first would silently mix two questions.
- **JSON-MIN** and **CSV**: one flat record per annotation, the task's ``data`` keys,
  Label Studio's own keys (``id``, ``annotator``, ``annotation_id``, ``created_at``,
  ``updated_at``, ``lead_time``) and one key per control, named after it. A control
  cannot be told from a data key there, so the control is ``from_name`` or, by default,
  the one named ``label`` (what ``assay plan-sample`` writes in ``label_config.xml``).

Label Studio names annotators by their numeric user id unless the export expands
``completed_by``; :func:`read_annotator_map` reads a map from ids to e-mails or names
(a CSV ``id,email``, or the JSON list of Label Studio's ``/api/users/``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from assay._validation import name_rows, warn
from assay.collect.annotations import normalize_annotations
from assay.exceptions import InputError

__all__ = [
    "LABEL_STUDIO_COLUMNS",
    "is_flat_export",
    "map_annotators",
    "parse_label_studio",
    "read_annotator_map",
    "read_flat_export",
]

#: The key of a task's ``data`` that holds the item id by default; ``assay plan-sample``
#: and :func:`~assay.collect.sampling.to_label_studio_tasks` write it.
DEFAULT_ITEM_KEY = "item"
#: The control read from JSON-MIN and CSV exports when ``from_name`` is not given.
DEFAULT_CONTROL = "label"
#: The keys Label Studio adds to each record of a JSON-MIN or CSV export.
LABEL_STUDIO_COLUMNS = frozenset(
    {"id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time", "agreement"}
)
#: The keys that mark a flat record as Label Studio's (JSON-MIN or CSV).
_FLAT_MARKS = frozenset({"annotator", "annotation_id", "lead_time"})
#: Columns of an annotator map that name the annotator, in order of preference.
_NAME_COLUMNS = ("email", "username", "name")


def is_flat_export(columns: Sequence[Any]) -> bool:
    """Whether a table's columns are those of a Label Studio JSON-MIN or CSV export."""
    return set(map(str, columns)) >= _FLAT_MARKS


def load_json(source: bytes | str | Path) -> tuple[Any, str]:
    """The parsed JSON of an export (bytes or a path) and how to name it in messages."""
    if isinstance(source, bytes):
        name, raw = "the Label Studio export", source
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"{path} does not exist or is not a file; check the path.")
        name, raw = path.name, path.read_bytes()
    if not raw.strip():
        raise InputError(f"{name} is empty; export the project again from Label Studio.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name} is not UTF-8 ({exc.reason} at byte {exc.start}); "
            "export it again from Label Studio (JSON) or re-save it as UTF-8."
        ) from None
    try:
        return json.loads(text), name
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{name} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            "export the project again with the JSON format."
        ) from None


def _annotator_id(completed_by: Any) -> Any:
    if isinstance(completed_by, dict):
        return completed_by.get("email") or completed_by.get("id")
    return completed_by


def _joined(choices: Sequence[Any]) -> Any:
    """One choice as it is; several (a multi-choice control) joined with ``|``."""
    return choices[0] if len(choices) == 1 else "|".join(sorted(map(str, choices)))


def _controls(tasks: list[dict[str, Any]]) -> list[str]:
    """The names of the Choices controls used in any annotation, in order of first use."""
    names: dict[str, None] = {}
    for task in tasks:
        for ann in task["annotations"]:
            for r in ann.get("result") or []:
                if isinstance(r, dict) and "choices" in (r.get("value") or {}):
                    names[str(r.get("from_name"))] = None
    return list(names)


def _pick_control(controls: list[str], from_name: str | None, name: str) -> str | None:
    """The control to read: ``from_name`` (which must exist), else the only one."""
    shown = ", ".join(map(repr, controls))
    if from_name is not None:
        if controls and from_name not in controls:
            raise InputError(
                f"{name} has no Choices control named {from_name!r}; its Choices controls "
                f"are {shown}. Pass from_name= with one of them."
            )
        return from_name
    if len(controls) > 1:
        raise InputError(
            f"{name} has {len(controls)} Choices controls ({shown}) and reading one of "
            "them would drop the others; pass from_name= to select the Choices control."
        )
    return controls[0] if controls else None


def _choice(result: list[dict[str, Any]], control: str | None) -> Any:
    for r in result:
        value = r.get("value") or {}
        if "choices" in value and r.get("from_name") == control:
            return _joined(list(value["choices"]))
    return None


def _task_rows(task: dict[str, Any], item_key: str | None, control: str | None
               ) -> list[dict[str, Any]]:
    item = task["data"][item_key] if item_key else task.get("id")
    rows = []
    for ann in task["annotations"]:
        if ann.get("was_cancelled"):
            continue
        label = _choice(ann.get("result") or [], control)
        if label is None:
            continue
        time = ann.get("updated_at") or ann.get("created_at")
        rows.append(
            {"item": item, "annotator": _annotator_id(ann.get("completed_by")),
             "label": label, "time": pd.Timestamp(time) if time else pd.NaT}
        )
    return rows


def _data(task: Any) -> dict[str, Any]:
    data = task.get("data") if isinstance(task, dict) else None
    return data if isinstance(data, dict) else {}


def _resolve_item_key(tasks: list[Any], item_key: str | None, name: str) -> str | None:
    """The data key that holds the item ids (see :func:`parse_label_studio`), or None for
    Label Studio's task ids."""
    key = item_key
    if key is None:
        if not any(DEFAULT_ITEM_KEY in _data(t) for t in tasks):
            warn(
                f"{name}: no task has data[{DEFAULT_ITEM_KEY!r}], so Label Studio's task ids "
                "were taken as the item ids; if the item ids are under another data key, "
                "pass item_key=KEY."
            )
            return None
        key = DEFAULT_ITEM_KEY
    lacking = [t for t in tasks if _data(t).get(key) is None]
    if lacking:
        ids = ", ".join(str(t.get("id", "?")) if isinstance(t, dict) else "?"
                        for t in lacking[:5])
        keys = ", ".join(map(repr, _data(lacking[0]))) or "none"
        raise InputError(
            f"{name}: {len(lacking)} task(s) have no item id under data[{key!r}] (task ids "
            f"{ids}; their data keys: {keys}); pass item_key=KEY with the data key that holds "
            "the item ids of every task."
        )
    return key


def _tasks_of(tasks: list[Any], positions: Sequence[int]) -> str:
    """``task 12`` / ``tasks 12 and 15``: the tasks that hold the rows at ``positions``."""
    ids = list(dict.fromkeys(tasks[p] for p in positions))
    return name_rows(range(len(ids)), ids, kind="task")


def _full_rows(data: list[Any], item_key: str | None, from_name: str | None, name: str
               ) -> tuple[list[dict[str, Any]], list[Any]]:
    """The rows of a full JSON export and the task id of each (to name rows)."""
    if not all(isinstance(t, dict) and isinstance(t.get("annotations"), list) for t in data):
        raise InputError(
            f"{name}: a task has no 'annotations' list; give a Label Studio export (JSON, "
            "JSON-MIN or CSV)."
        )
    key = _resolve_item_key(data, item_key, name)
    control = _pick_control(_controls(data), from_name, name)
    rows: list[dict[str, Any]] = []
    tasks: list[Any] = []
    for task in data:
        found = _task_rows(task, key, control)
        rows += found
        tasks += [task.get("id", "?")] * len(found)
    if not rows:
        raise InputError(
            f"{name} has no completed choice annotations; label some tasks, or pass "
            "from_name= to select the Choices control."
        )
    skipped = sum(len(t["annotations"]) for t in data) - len(rows)
    if skipped:
        warn(f"{name}: left out {skipped} cancelled or choice-less annotation(s).")
    return rows, tasks


def parse_label_studio(
    source: bytes | str | Path,
    *,
    item_key: str | None = None,
    from_name: str | None = None,
    classes: Sequence[Any] | None = None,
    allow_new: bool = False,
    annotators: Mapping[Any, Any] | str | Path | None = None,
) -> pd.DataFrame:
    """Turn a Label Studio JSON or JSON-MIN export of choice tasks into annotations.

    Parameters
    ----------
    source : bytes, str or Path
        The export's bytes, or the path of the ``.json`` file: the full JSON export (a
        list of tasks with ``annotations``) or JSON-MIN (a list of flat records, one
        per annotation; see the module docstring).
    item_key : str, optional
        The key of ``task["data"]`` that holds the item id; every task must have it. By
        default ``"item"`` (what :func:`~assay.collect.sampling.to_label_studio_tasks`
        and ``assay plan-sample`` write) when any task has it; when no task does, Label
        Studio's own task ``id`` is taken as the item id, with a warning (right only for
        a project whose task ids *are* the item ids). The id keeps its JSON type (an
        integer stays an integer).
    from_name : str, optional
        The name of the ``<Choices>`` control to read. Required when the annotations use
        several (the message lists them); in JSON-MIN, default ``"label"``.
    classes : sequence, optional
        Allowed classes; labels outside them raise unless ``allow_new``.
    allow_new : bool, default False
        Accept labels outside ``classes``.
    annotators : mapping or path, optional
        Names for Label Studio's numeric user ids (see :func:`read_annotator_map`).

    Returns
    -------
    DataFrame of shape (n_annotations, 4)
        ``item``, ``annotator`` (``completed_by``: the e-mail when exported, else the user
        id, or its name in ``annotators``), ``label`` (several choices are joined with
        ``|``), ``time``. Cancelled (skipped) annotations and annotations without a
        choice are left out.
    """
    data, name = load_json(source)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise InputError(f"{name}: expected a list of tasks; give a Label Studio JSON export.")
    if data and all(isinstance(t, dict) and "annotations" not in t for t in data) and any(
            is_flat_export(list(t)) for t in data):
        controls = _min_controls(data)
        if controls:  # refuses several without from_name, or a from_name not among them
            from_name = _pick_control(controls, from_name, name)
        return read_flat_export(pd.DataFrame(data), name, item_key=item_key,
                                from_name=from_name, classes=classes, allow_new=allow_new,
                                annotators=annotators)
    rows, tasks = _full_rows(data, item_key, from_name, name)
    frame = map_annotators(pd.DataFrame(rows), annotators, name)
    return normalize_annotations(
        frame, classes=classes, allow_new=allow_new, where=name,
        rows=lambda positions: _tasks_of(tasks, positions),
    )


def _min_controls(records: list[dict[str, Any]]) -> list[str]:
    """The controls of a JSON-MIN export: Label Studio writes each record's keys in the
    order task data, ``id``, the controls, ``annotator``, ..., so they lie between
    ``id`` and ``annotator``."""
    names: dict[str, None] = {}
    for record in records:
        keys = list(record)
        if "id" in keys and "annotator" in keys:
            names.update(dict.fromkeys(keys[keys.index("id") + 1:keys.index("annotator")]))
    return list(names)


def _flat_choice(value: Any) -> Any:
    """A control's value in a flat record: the choice, ``{"choices": [...]}`` (several
    choices; in CSV as JSON text), or nothing (NaN / None / empty)."""
    if isinstance(value, str) and value.startswith("{") and '"choices"' in value:
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return value
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        value = value[0]
    if isinstance(value, dict):
        choices = value.get("choices")
        return _joined(list(choices)) if isinstance(choices, list) and choices else None
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return None
    return value


def _flat_control(frame: pd.DataFrame, from_name: str | None, item: str, name: str) -> str:
    """The column of the control to read from a flat export (see the module docstring)."""
    control = from_name if from_name is not None else DEFAULT_CONTROL
    if control in frame.columns:
        return control
    others = [str(c) for c in frame.columns
              if str(c) not in LABEL_STUDIO_COLUMNS and str(c) != item]
    shown = ", ".join(map(repr, others)) or "none"
    if from_name is None:
        raise InputError(
            f"{name} has no column {DEFAULT_CONTROL!r}; its other columns (the controls and "
            f"the task data) are {shown}; pass from_name= to select the Choices control."
        )
    raise InputError(
        f"{name} has no Choices control named {from_name!r}; its other columns (the "
        f"controls and the task data) are {shown}. Pass from_name= with one of them."
    )


def _flat_item(frame: pd.DataFrame, item_key: str | None, name: str) -> str:
    """The column of the item ids: ``item_key``, else ``item``, else the task ids."""
    key = item_key if item_key is not None else DEFAULT_ITEM_KEY
    if key in frame.columns:
        return key
    if item_key is None and "id" in frame.columns:
        warn(
            f"{name}: no column {DEFAULT_ITEM_KEY!r}, so Label Studio's task ids were taken "
            "as the item ids; if the item ids are under another data key, pass item_key=KEY."
        )
        return "id"
    raise InputError(
        f"{name} has no item id column {key!r}; its columns are "
        f"{', '.join(map(str, frame.columns))}. Pass item_key=KEY with the data key that "
        "holds the item ids."
    )


def read_flat_export(
    frame: pd.DataFrame,
    name: str,
    *,
    item_key: str | None = None,
    from_name: str | None = None,
    classes: Sequence[Any] | None = None,
    allow_new: bool = False,
    annotators: Mapping[Any, Any] | str | Path | None = None,
) -> pd.DataFrame:
    """Annotations of a Label Studio JSON-MIN or CSV export (one record per annotation).

    Parameters are those of :func:`parse_label_studio`; ``frame`` holds the records and
    ``name`` names the file in messages. Records without an annotator (tasks nobody
    labeled) or without a value of the control are left out, with a warning.
    """
    item = _flat_item(frame, item_key, name)
    control = _flat_control(frame, from_name, item, name)
    time = frame["updated_at"] if "updated_at" in frame.columns else frame.get("created_at")
    out = pd.DataFrame({
        "item": frame[item],
        "annotator": frame["annotator"],
        "label": frame[control].map(_flat_choice),
        "time": pd.to_datetime(time, utc=True, errors="coerce") if time is not None else pd.NaT,
    })
    kept = out["annotator"].notna() & out["label"].notna()
    if not kept.any():
        raise InputError(
            f"{name} has no completed choice annotations in column {control!r}; label some "
            "tasks, or pass from_name= to select the Choices control."
        )
    if not kept.all():
        warn(f"{name}: left out {int((~kept).sum())} record(s) without an annotator or a "
             f"choice in {control!r}.")
    out = map_annotators(out[kept].reset_index(drop=True), annotators, name)
    tasks = frame.loc[kept, "id"].tolist() if "id" in frame.columns else list(range(len(out)))
    return normalize_annotations(out, classes=classes, allow_new=allow_new, where=name,
                                 rows=lambda positions: _tasks_of(tasks, positions))


def _map_from_records(records: Any, name: str) -> dict[str, str]:
    """``{id: e-mail}`` from Label Studio's ``/api/users/`` JSON (a list, or a page
    with ``results``)."""
    if isinstance(records, dict) and isinstance(records.get("results"), list):
        records = records["results"]
    if isinstance(records, dict):  # {"1": "ann@lab.org", ...}
        return {str(k): str(v) for k, v in records.items()}
    if not isinstance(records, list) or not all(isinstance(r, dict) and "id" in r
                                                for r in records):
        raise InputError(
            f"{name} is not a list of users with an 'id' each; save the output of Label "
            "Studio's /api/users/ or write a CSV with the columns id,email."
        )
    found: dict[str, str] = {}
    for r in records:
        label = next((r[c] for c in _NAME_COLUMNS if r.get(c)), None)
        if label is not None:
            found[str(r["id"])] = str(label)
    return found


def _map_from_csv(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    header = list(rows[0]) if rows else []
    column = next((c for c in _NAME_COLUMNS if c in header), None)
    if "id" not in header or column is None:
        raise InputError(
            f"{path.name} needs a header with the columns id and email (or username, or "
            f"name); its header is {', '.join(header) or 'empty'}. Write e.g. 'id,email' "
            "then one line per Label Studio user."
        )
    return {str(r["id"]).strip(): str(r[column]).strip() for r in rows if r.get(column)}


def read_annotator_map(path: str | Path) -> dict[str, str]:
    """Names for Label Studio's numeric user ids, from a CSV or JSON file.

    Parameters
    ----------
    path : str or Path
        A CSV with a header ``id`` and ``email`` (or ``username``, or ``name``), or the
        JSON that Label Studio's users API returns (``GET /api/users/``: a list of users
        with ``id`` and ``email``), or a JSON object ``{"1": "ann@lab.org", ...}``.

    Returns
    -------
    dict
        ``{"1": "ann@lab.org", ...}``, the ids as text.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file; check the annotator map.")
    if path.suffix.lower() == ".json":
        records, name = load_json(path)
        found = _map_from_records(records, name)
    else:
        found = _map_from_csv(path)
    if not found:
        raise InputError(f"{path.name} maps no user id to a name; add rows 'id,email'.")
    return found


def map_annotators(
    frame: pd.DataFrame, annotators: Mapping[Any, Any] | str | Path | None, where: str
) -> pd.DataFrame:
    """``frame`` with its annotators renamed by ``annotators`` (a mapping or a file for
    :func:`read_annotator_map`); an annotator neither in its ids nor among its names is
    refused, listing a few."""
    if annotators is None:
        return frame
    mapping = (read_annotator_map(annotators) if isinstance(annotators, (str, Path))
               else {str(k): str(v) for k, v in annotators.items()})
    ids = frame["annotator"].map(lambda a: str(a).removesuffix(".0"))
    named = ids.map(mapping)
    unknown = sorted(set(ids[named.isna() & ~ids.isin(set(mapping.values()))]))
    if unknown:
        raise InputError(
            f"{where}: annotator(s) {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}"
            " are not in the annotator map; add a line 'id,email' for each."
        )
    return frame.assign(annotator=named.fillna(ids))

"""Label Studio exports as version 1.23.2 writes them, for tests.

A project with two Choices controls, ``label`` and ``clarity``, labeled by users 9 and
10: the full JSON's ``result`` lists, JSON-MIN's key order (data, ``id``, controls,
``annotator``, ...) and CSV's sorted, quoted columns, copied from real exports
(benchmarks/label_studio_roundtrip.py makes them against a running server).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

#: (task id, item, annotator, label, clarity) as labeled in the real project.
ANNOTATIONS = [
    (41, "amz-0156", 10, "negative", "clear"),
    (41, "amz-0156", 9, "positive", "unclear"),
    (42, "amz-0196", 10, "positive", "clear"),
    (42, "amz-0196", 9, "positive", "clear"),
    (43, "amz-0466", 10, "negative", "unclear"),
    (43, "amz-0466", 9, "negative", "clear"),
]
STAMP = "2026-12-05T08:09:04.928851Z"


def _result(label: str | list[str], clarity: str) -> list[dict]:
    labels = label if isinstance(label, list) else [label]
    return [{"from_name": "label", "to_name": "text", "type": "choices",
             "value": {"choices": labels}},
            {"from_name": "clarity", "to_name": "text", "type": "choices",
             "value": {"choices": [clarity]}}]


def full_export(rows: list[tuple] = ANNOTATIONS) -> list[dict]:
    tasks: dict[int, dict] = {}
    for task, item, who, label, clarity in rows:
        entry = tasks.setdefault(task, {"id": task, "annotations": [], "predictions": [],
                                        "data": {"item": item, "text": f"text of {item}"}})
        entry["annotations"].append({
            "id": len(entry["annotations"]) + 70, "completed_by": who,
            "result": _result(label, clarity), "was_cancelled": False,
            "created_at": STAMP, "updated_at": STAMP, "lead_time": 1.0})
    return list(tasks.values())


def min_export(rows: list[tuple] = ANNOTATIONS) -> list[dict]:
    return [{"item": item, "text": f"text of {item}", "id": task,
             "label": label if isinstance(label, str) else {"choices": label},
             "clarity": clarity, "annotator": who, "annotation_id": 70 + k,
             "created_at": STAMP, "updated_at": STAMP, "lead_time": 1.0}
            for k, (task, item, who, label, clarity) in enumerate(rows)]


def csv_export(path: Path, control: str = "label") -> Path:
    records = [{**r, "annotator": str(r["annotator"])} for r in min_export()]
    frame = pd.DataFrame(records).rename(columns={"label": control})
    frame[sorted(frame.columns)].to_csv(path, index=False, quoting=2)  # QUOTE_NONNUMERIC
    return path

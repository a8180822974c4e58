"""The monitoring ingestion endpoint: production batches over HTTP.

``POST /api/monitors/NAME/ingest`` with an API token (``Authorization: Bearer ...``)
and a body of JSON (an array of row objects, or ``{"rows": [...]}``) or NDJSON
(``Content-Type: application/x-ndjson``, one row object a line). The batch is checked
against the reference schema (400 with the reason when it does not fit; the reason names
NDJSON rows by their line in the body, JSON rows by their index in the array), then checked
for drift as the monitor's next window. A 2xx answer means the window is stored
(object first, then one transaction): it is durable. Bodies are limited to the app's
``max_body_bytes`` (1 MiB by default; 413 beyond).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from assay.exceptions import InputError
from assay.store.readers import RowNames
from assay.web.deps import Auth, require
from assay.web.render import json_response

router = APIRouter(prefix="/api")
MAX_ROWS = 100_000


class _BodyLines(RowNames):
    """The rows of an NDJSON body, named by their line in it (blank lines skipped)."""

    def __init__(self, lines: list[int]) -> None:
        super().__init__("line", labels=lines, header=False)

    def _lines(self, positions: list[int]) -> list[int]:
        assert self.labels is not None
        return [int(self.labels[p]) for p in positions]


def _rows_from_body(body: bytes, content_type: str) -> tuple[list[dict[str, Any]], RowNames | None]:
    """The row objects of a request body, and how messages name them (None: by index)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("the request body is not UTF-8 text; send JSON or NDJSON.") from exc
    rows: Any
    names: RowNames | None = None
    if "ndjson" in content_type or "jsonl" in content_type:
        rows, lines = [], []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    raise InputError(f"NDJSON line {number} is not valid JSON: {exc}.") from exc
                lines.append(number)
        names = _BodyLines(lines)
    else:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InputError(f"the request body is not valid JSON: {exc}.") from exc
        rows = data.get("rows") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InputError('send an array of row objects, {"rows": [...]}, or NDJSON rows.')
    if not rows:
        raise InputError("the batch has no rows; send at least one row.")
    if len(rows) > MAX_ROWS:
        raise InputError(f"at most {MAX_ROWS} rows per request; got {len(rows)}. Split the batch.")
    return rows, names


@router.post("/monitors/{name}/ingest")
async def ingest_batch(
    request: Request, name: str, auth: Auth = Depends(require("reviewer"))
) -> Response:
    """Check one production batch as the monitor's next window (token clients)."""
    if auth.via == "session":
        raise InputError("use an API token (Authorization: Bearer ...) to send production batches.")
    rows, names = _rows_from_body(await request.body(), request.headers.get("content-type", ""))
    window = request.app.state.web.ws.monitors.ingest(
        name,
        pd.DataFrame.from_records(rows),
        source=f"HTTP batch from {auth.user.name}",
        rows=names,
    )
    return json_response(
        {
            "monitor": name,
            "window": window["window"],
            "rows": len(rows),
            "drifted": window["drifted"],
            "alerts": window["alerts"],
        },
        status=201,
    )

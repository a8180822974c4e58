"""The monitoring ingestion endpoint: production batches over HTTP.

``POST /api/monitors/NAME/ingest`` with an API token (``Authorization: Bearer ...``)
and a body of JSON (an array of row objects, or ``{"rows": [...]}``) or NDJSON
(``Content-Type: application/x-ndjson``, one row object a line). The batch is checked
against the reference schema and every value is checked before any work (400 with the
reason when it does not fit; the reason names NDJSON rows by their line in the body,
JSON rows by their index in the array, and the column), then checked for drift as the
monitor's next window. Refused: ``NaN`` and ``Infinity`` (not JSON: send ``null``),
numbers beyond 64 bits, nesting deeper than :data:`MAX_DEPTH`, and what
:meth:`assay.store.monitors.MonitorStore.ingest` refuses. A 2xx answer means the window
is stored (object first, then one transaction): it is durable; a refused batch leaves
nothing. Bodies are limited to the app's ``max_body_bytes`` (1 MiB by default; 413
beyond). The work runs in a worker thread: other requests are served meanwhile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from assay.exceptions import InputError
from assay.web.deps import Auth, require
from assay.web.render import json_response
from assay.workflows.batches import MAX_DEPTH, MAX_ROWS
from assay.workflows.monitor import ingest_json

if TYPE_CHECKING:
    from assay.store.workspace import Workspace

__all__ = ["MAX_DEPTH", "MAX_ROWS", "router"]

router = APIRouter(prefix="/api")


def _ingest(ws: Workspace, name: str, body: bytes, content_type: str, user: str) -> dict[str, Any]:
    """Parse, check and store one batch (in a worker thread): the answer's JSON."""
    ndjson = "ndjson" in content_type or "jsonl" in content_type
    checked = ingest_json(ws, name, body, ndjson=ndjson, source=f"HTTP batch from {user}")
    return {
        "monitor": name,
        "window": checked.window["window"],
        "rows": checked.rows,
        "drifted": checked.window["drifted"],
        "alerts": checked.window["alerts"],
    }


@router.post("/monitors/{name}/ingest")
async def ingest_batch(
    request: Request, name: str, auth: Auth = Depends(require("reviewer"))
) -> Response:
    """Check one production batch as the monitor's next window (token clients)."""
    if auth.via == "session":
        raise InputError("use an API token (Authorization: Bearer ...) to send production batches.")
    body = await request.body()
    answer = await run_in_threadpool(
        _ingest,
        request.app.state.web.ws,
        name,
        body,
        request.headers.get("content-type", ""),
        auth.user.name,
    )
    return json_response(answer, status=201)

"""Machine endpoints, for API-token clients (``Authorization: Bearer TOKEN``).

Session users may call them too (with a CSRF token). ``POST /api/datasets/NAME/review``
is the ingestion endpoint for flagged items: a JSON body
``{"source": "drift_sample", "entries": [{"item_id": ..., "reason": ..., "score": ...}]}``.
"""

from __future__ import annotations

import pandas as pd
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from assay.exceptions import InputError
from assay.web.deps import Auth, payload, require
from assay.web.render import json_response

router = APIRouter(prefix="/api")
MAX_ENTRIES = 5000


@router.get("/whoami")
def whoami(request: Request, auth: Auth = Depends(require("viewer"))) -> Response:
    """The signed-in user and how they signed in."""
    return json_response({"user": auth.user.to_dict(), "via": auth.via})


@router.post("/datasets/{name}/review")
def ingest_review(
    request: Request, name: str, fields: dict = Depends(payload("reviewer"))
) -> Response:
    """Add flagged items to the review queue (items already open are skipped)."""
    entries = fields.get("entries")
    if not isinstance(entries, list) or not entries:
        raise InputError('the body needs "entries": a non-empty list of objects with item_id.')
    if len(entries) > MAX_ENTRIES:
        raise InputError(f"at most {MAX_ENTRIES} entries per request; got {len(entries)}.")
    if not all(isinstance(e, dict) for e in entries):
        raise InputError('each of "entries" must be an object with item_id, reason and score.')
    source = fields.get("source")
    added = request.app.state.web.ws.review.add(
        name, pd.DataFrame.from_records(entries), source=str(source) if source else None
    )
    return json_response({"dataset": name, "added": added, "received": len(entries)})

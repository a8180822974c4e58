"""The live agreement page polled as labels arrive: a poll with nothing new reuses the
last computed context (the labels stamp unchanged); a new label or an adjudication
makes the next poll compute agreement afresh. Real workspaces (SQLite and PostgreSQL),
real users, real routes; nothing of assay is mocked.
"""

from __future__ import annotations

from typing import Any

import pytest
from webhelpers import PASSWORD, digits_frame

from assay.store.users import add_user
from assay.store.workspace import Workspace
from assay.workflows.labeling import plan_labeling, submit_label

ITEMS = [f"d{i}" for i in range(12)]
TRUTH = dict(zip(digits_frame()["item_id"], digits_frame()["label"], strict=True))


@pytest.fixture
def both_ws(web_ws: Workspace) -> Workspace:
    """Digits with a label book; ann and benno label d0..d11 both, benno wrong on 3."""
    web_ws.labelbook.save(
        "digits", {str(d): {"description": f"digit {d}"} for d in range(10)}, message="d"
    )
    for name in ("ann", "benno"):
        add_user(web_ws, name, role="labeler", password=PASSWORD)
    plan_labeling(
        web_ws, "digits", labelers=["ann", "benno"], items=ITEMS, overlap=1.0, actor="ada"
    )
    for item in ITEMS[:-1]:
        submit_label(web_ws, "digits", "ann", item, TRUTH[item])
        wrong = item in ("d0", "d1", "d2")
        submit_label(web_ws, "digits", "benno", item, (TRUTH[item] + wrong) % 10)
    return web_ws


def _poll(client: Any) -> tuple[dict[str, Any], Any]:
    """The polled body's JSON, and the context object the app keeps for the plan."""
    state = client.app.state
    if hasattr(state, "labeling_agreements"):
        state.labeling_agreements.forget("digits")  # past the 2 s of sharing
    body = client.get("/label/digits/agreement/live?format=json")
    assert body.status_code == 200, body.text
    return body.json(), state.labeling_stamped["digits"][1]


def test_a_poll_with_nothing_new_reuses_the_last_agreement(
    both_ws: Workspace, client_for: Any
) -> None:
    rita, csrf = client_for("rita")
    first, kept = _poll(rita)
    assert first["n_labels"] == 22 and len(first["disagreed"]) == 3
    again, same = _poll(rita)
    assert same is kept and again["stamp"] == first["stamp"]
    submit_label(both_ws, "digits", "ann", "d11", TRUTH["d11"])
    submit_label(both_ws, "digits", "benno", "d11", (TRUTH["d11"] + 1) % 10)
    fresh, new = _poll(rita)
    assert new is not kept and fresh["n_labels"] == 24 and len(fresh["disagreed"]) == 4
    decided = rita.post(
        "/label/digits/adjudicate/d11",
        data={"csrf_token": csrf, "label": str(TRUTH["d11"])},
        follow_redirects=False,
    )
    assert decided.status_code == 303
    after, _ = _poll(rita)
    shown = {d["item"]: d["adjudicated"] for d in after["disagreed"]}
    assert shown["d11"] == TRUTH["d11"]


def test_the_headline_intervals_are_the_delta_method(both_ws: Workspace, client_for: Any) -> None:
    """The page names the interval it shows, and shows the engine's delta interval."""
    from assay.collect.agreement import agreement
    from assay.workflows.labeling import read_labels

    rita, _ = client_for("rita")
    body, _ = _poll(rita)
    labels = read_labels(both_ws, "digits")
    frame = labels.rename(columns={"labeler": "annotator"})[["item", "annotator", "label"]]
    expected = agreement(frame, ci_method="delta").ci
    shown = {h["name"]: h["ci"] for h in body["headline"]}
    assert shown["Krippendorff's alpha"] == pytest.approx(list(expected["krippendorff_alpha"]))
    assert shown["percent agreement"] == pytest.approx(list(expected["percent_agreement"]))
    assert shown["Cohen's kappa (mean over pairs)"] == pytest.approx(list(expected["cohen_kappa"]))
    html = rita.get("/label/digits/agreement/live").text
    assert "delta method" in html and "bootstrap" not in html

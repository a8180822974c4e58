"""Parallel ``POST /review/digits/apply``: exactly one version, the others 409 or 400."""

from __future__ import annotations

import threading

from assay.store.workspace import Workspace


def test_parallel_applies_make_one_version(client_for, web_ws: Workspace) -> None:
    for entry in web_ws.review.list("digits").head(3).itertuples():
        web_ws.review.decide(int(entry.id), "remove", user="rita")
    clients = [client_for("rita") for _ in range(8)]
    answers: list[tuple[int, str]] = []

    def apply(client, token) -> None:  # type: ignore[no-untyped-def]
        response = client.post("/review/digits/apply", data={"csrf_token": token},
                               headers={"Accept": "application/json"}, follow_redirects=False)
        answers.append((response.status_code, response.text))

    threads = [threading.Thread(target=apply, args=pair) for pair in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(code for code, _ in answers)
    assert codes.count(200) == 1 and set(codes) <= {200, 400, 409}, answers
    for code, text in answers:
        if code == 409:
            assert "already being applied by rita" in text, text
        if code == 400:
            assert "no decided review entries" in text, text
    assert [v.ref for v in web_ws.log("digits")] == ["digits@v2", "digits@v1"]
    assert web_ws.review.count("digits", status="applied") == 3

"""A new user's labeling loop on an unlabeled image folder (40 real photos: 20 raccoon
photos and 20 blood-cell micrographs, copied flat from the shared detection sets):
import without labels, a label book, a plan with a double-labeled sample, one labeler
through the CLI (a CSV of labels, all or nothing) and one through the web page, agreement
with one line per label-book round, adjudication, apply, audit."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sklearn.metrics import cohen_kappa_score

from assay.store.users import add_user
from assay.store.workspace import Workspace
from assay.web import create_app
from assay.workflows.labeling import next_item

BOOK = "classes:\n  raccoon: A photo of a raccoon.\n  cells: A microscope image of blood cells.\n"
PASSWORD = "correct horse battery"


@pytest.fixture
def photos(tmp_path: Path, shared_data: Path) -> Path:
    """A flat folder of 40 JPEGs (no class folders: nothing says their label)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    raccoons = sorted((shared_data / "detection" / "raccoon" / "images").glob("*.jpg"))[:20]
    cells = sorted((shared_data / "detection" / "bccd" / "BCCD" / "JPEGImages").glob("*.jpg"))
    for path in [*raccoons, *cells[:20]]:
        shutil.copy(path, folder / path.name)
    return folder


def _truth(item: str) -> str:
    return "cells" if item.startswith("BloodImage") else "raccoon"


def _ben_says(item: str) -> str:
    """Ben calls every fifth raccoon photo (by its number) cells."""
    number = re.search(r"(\d+)", item)
    flip = _truth(item) == "raccoon" and number is not None and int(number.group(1)) % 5 == 0
    return "cells" if flip else _truth(item)


def _signed_in(ws: Workspace, name: str) -> tuple[TestClient, str]:
    client = TestClient(create_app(ws, secret_key="b" * 32))
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    client.post(
        "/login",
        data={"username": name, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    page = client.get("/label")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert page.status_code == 200 and found is not None
    return client, found.group(1)


def _label_in_browser(ws: Workspace) -> dict[str, str]:
    """Ben labels his whole queue through the labeling page: the image is served by
    item id, his label posted with the page's form fields."""
    client, csrf = _signed_in(ws, "ben")
    given = {}
    while True:
        page = client.get("/label/pets")
        assert page.status_code == 200
        task = client.get("/label/pets?format=json").json()["task"]
        if task is None:
            break
        item = task["item_id"]
        media = client.get(f"/label/pets/items/{item}/media")
        assert media.status_code == 200 and media.content[:2] == b"\xff\xd8"  # a JPEG
        answer = client.post(
            "/label/pets/submit",
            data={"csrf_token": csrf, "item_id": item, "label": _ben_says(item)},
        )
        assert answer.status_code == 200, answer.text
        given[item] = _ben_says(item)
    return given


def test_an_image_folder_is_labeled_by_two_people(cli, tmp_path: Path, photos: Path) -> None:
    w = ["-w", str(tmp_path / "ws")]
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    code, out, err = cli("import", "pets", str(photos), *w)
    assert code == 0 and "40 of 40 items await a label" in out, err
    (tmp_path / "book.yaml").write_text(BOOK)
    assert cli("labelbook", "edit", "pets", "--file", str(tmp_path / "book.yaml"), *w)[0] == 0
    code, out, err = cli("label", "plan", "pets", "--labelers", "ann,ben", "--overlap", "0.5", *w)
    assert code == 0 and "20 in the agreement sample" in out, err

    code, out, err = cli("label", "next", "pets", "--labeler", "ann", *w)
    assert code == 0, err
    assert all(len(line) <= 80 for line in out.splitlines())
    first = next_item(Workspace(tmp_path / "ws"), "pets", "ann")
    assert first is not None
    shown = re.search(r"file: (\S+)", out)  # the image by its path (its end when long)
    assert shown is not None and shown.group(1).endswith(f"photos/{first.item_id}")

    ws = Workspace(tmp_path / "ws")
    add_user(ws, "ben", role="labeler", password=PASSWORD)
    ann_items = _queue(ws, "ann")
    rows = [(item, _truth(item)) for item in ann_items]
    bad = tmp_path / "bad.csv"
    _write(bad, [*rows[:3], (rows[3][0], "racoon"), *rows[4:]])
    code, out, err = cli("label", "submit", "pets", "--labeler", "ann", "--file", str(bad), *w)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "bad.csv: row 4 (line 5), column 'label'" in err and "Nothing was stored" in err
    assert next_item(ws, "pets", "ann").remaining == len(ann_items)  # nothing written
    good = tmp_path / "labels.csv"
    _write(good, rows)
    code, out, err = cli("label", "submit", "pets", "--labeler", "ann", "--file", str(good), *w)
    assert code == 0 and f"{len(rows)} labels stored" in out, err
    assert next_item(ws, "pets", "ann") is None

    ben = _label_in_browser(ws)
    shared = sorted(set(ann_items) & set(ben))
    assert len(shared) == 20
    expected = cohen_kappa_score([_truth(i) for i in shared], [ben[i] for i in shared])

    code, out, err = cli("label", "agreement", "pets", *w)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines[0]) <= 80 and lines[0].startswith("pets: 40 labels of 20 items")
    kappa = re.search(r"Cohen's kappa .*: (-?\d\.\d{3}) \[(-?\d\.\d{3}), (\d\.\d{3})\]", out)
    assert kappa is not None and float(kappa.group(1)) == pytest.approx(expected, abs=5e-4)
    assert float(kappa.group(3)) <= 1.0
    assert re.search(r"^  v1: 20 items, alpha \d\.\d{3}", out, re.M)
    disagreed = [i for i in shared if ben[i] != _truth(i)]
    assert disagreed and all(i in out for i in disagreed)

    for item in disagreed:
        code, _, err = cli("label", "adjudicate", "pets", "--item", item, _truth(item), *w)
        assert code == 0, err
    code, out, err = cli("label", "apply", "pets", "-m", "first labels", "--json", *w)
    assert code == 0, err
    applied = ws.dataset("pets").to_pandas()
    got = dict(zip(applied["item_id"], applied["label"], strict=True))
    want = {i: _truth(i) for i in ann_items} | {
        i: (_truth(i) if i in shared else lab) for i, lab in ben.items()
    }
    assert got == want
    code, out, err = cli("audit", "pets", "--report", str(tmp_path / "audit.html"), *w)
    assert code == 0, err
    ws.close()


def _queue(ws: Workspace, labeler: str) -> list[str]:
    from sqlalchemy import select

    from assay.store import models as m

    a = m.LabelingAssignment
    with ws.session(readonly=True) as s:
        return list(s.scalars(select(a.item_id).where(a.labeler == labeler).order_by(a.position)))


def _write(path: Path, rows: list[tuple[str, str]]) -> None:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["item", "label"])
        out.writerows(rows)

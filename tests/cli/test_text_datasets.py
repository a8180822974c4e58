"""Text datasets end to end: ``assay import`` + ``audit`` + ``train`` on a folder of
``.txt`` files and on a table with a free-text column, with the default text features
(sentence embeddings, TF-IDF without the ``text`` extra) and with a ``featurizer: tfidf``
recipe that reads the raw texts.

The reviews are synthetic (seeded): each uses sentiment words of its class, and four
training labels are flipped at known items, so the audit's flags are scored against
ground truth. Kept small (90 texts) because the sentence encoder costs ~4 s per 1,000.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.store.workspace import Workspace

GOOD = ["great", "excellent", "lovely", "perfect", "wonderful", "reliable", "happy", "superb"]
BAD = ["terrible", "awful", "broken", "useless", "horrible", "disappointing", "poor", "faulty"]
FILLER = ["the", "phone", "case", "battery", "screen", "really", "was", "quite", "and", "it"]
RECIPES = {
    "tfidf": "featurizer: tfidf\nestimator: sklearn.linear_model.LogisticRegression\nseed: 0\n",
    "lr": "estimator: sklearn.linear_model.LogisticRegression\nparams: {max_iter: 1000}\n",
}
N_TRAIN, N_TEST, FLIPPED = 60, 30, (3, 17, 32, 48)


def _reviews(n: int, prefix: str, seed: int) -> pd.DataFrame:
    """n unique reviews; labels pos/neg, the ``FLIPPED`` rows of a training set mislabelled."""
    rng = np.random.default_rng(seed)
    truth = np.where(np.arange(n) % 2 == 0, "pos", "neg")
    texts = []
    for k, label in enumerate(truth):
        words = list(rng.choice(GOOD if label == "pos" else BAD, 3)) + list(rng.choice(FILLER, 4))
        rng.shuffle(words)
        texts.append(f"review {prefix}{k}: " + " ".join(words))
    given = truth.copy()
    if prefix == "t":
        for k in FLIPPED:
            given[k] = "neg" if truth[k] == "pos" else "pos"
    return pd.DataFrame(
        {"id": [f"{prefix}{k:02d}" for k in range(n)], "text": texts, "label": given}
    )


def _write(frame: pd.DataFrame, kind: str, path: Path) -> list[str]:
    """Write a folder (root/<label>/<id>.txt) or a TSV; return the item ids in row order."""
    if kind == "table":
        frame.to_csv(path.with_suffix(".tsv"), sep="\t", index=False)
        return frame["id"].tolist()
    for row in frame.itertuples():
        (path / row.label).mkdir(parents=True, exist_ok=True)
        (path / row.label / f"{row.id}.txt").write_text(row.text, encoding="utf-8")
    return [f"{row.label}/{row.id}.txt" for row in frame.itertuples()]


@pytest.fixture(params=["folder", "table"])
def text_ws(request: pytest.FixtureRequest, tmp_path: Path, cli) -> tuple[Workspace, list[str]]:
    """A workspace with datasets ``reviews`` and ``reviews-test`` of one kind, two recipes."""
    kind = request.param
    ws = Workspace.init(tmp_path / "ws")
    w = ["-w", ws.location]
    ids = _write(_reviews(N_TRAIN, "t", 0), kind, tmp_path / "train")
    _write(_reviews(N_TEST, "e", 1), kind, tmp_path / "test")
    for name, part in (("reviews", "train"), ("reviews-test", "test")):
        source = tmp_path / (f"{part}.tsv" if kind == "table" else part)
        args = ["--label", "label", "--id", "id"] if kind == "table" else []
        code, _, err = cli("import", name, str(source), *args, *w)
        assert code == 0, err
    for name, text in RECIPES.items():
        (tmp_path / f"{name}.yml").write_text(text)
        assert cli("recipe", "add", name, str(tmp_path / f"{name}.yml"), *w)[0] == 0
    return ws, [ids[k] for k in FLIPPED]


@pytest.mark.parametrize("recipe", [None, "tfidf"])
def test_audit_finds_the_flipped_reviews(cli, text_ws, tmp_path: Path, recipe: str | None) -> None:
    ws, flipped = text_ws
    args = ["--recipe", recipe] if recipe else []
    report = tmp_path / "audit.html"
    code, out, err = cli(
        "audit", "reviews", *args, "--report", str(report), "--json", "-w", ws.location
    )
    assert code == 0, err
    record = json.loads(out)
    assert record["n_rows"] == N_TRAIN and report.is_file()
    if recipe:
        assert (
            "tfidf" in record["label_probs_source"] and "raw texts" in record["label_probs_source"]
        )
    queued = set(ws.review.list("reviews", source="label_issue", limit=None)["item_id"])
    assert len(queued & set(flipped)) >= 3, (sorted(queued), flipped)  # of the 4 flipped
    assert len(queued) <= 8  # and not much else


@pytest.mark.parametrize("recipe", ["lr", "tfidf"])
def test_train_text_recipe(cli, text_ws, recipe: str) -> None:
    ws, _ = text_ws
    code, out, err = cli(
        "train",
        "reviews",
        "--recipe",
        recipe,
        "--eval",
        "reviews-test",
        "--json",
        "-w",
        ws.location,
    )
    assert code == 0, err
    exp = json.loads(out)
    assert exp["evaluation"]["overall"]["accuracy"]["value"] >= 0.85  # 4 of 60 labels flipped
    assert exp["features"] == ["text"] and exp["n_train"] == N_TRAIN


def test_tfidf_recipe_on_a_table_without_text_exits_2(cli, tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=40), "colour": rng.choice(["red", "blue"], 40)})
    frame["label"] = np.where(frame["x"] > 0, "a", "b")
    frame.to_csv(tmp_path / "n.csv", index=False)
    (tmp_path / "t.yml").write_text(RECIPES["tfidf"])
    w = ["-w", ws.location]
    assert cli("import", "n", str(tmp_path / "n.csv"), "--label", "label", *w)[0] == 0
    assert cli("recipe", "add", "tfidf", str(tmp_path / "t.yml"), *w)[0] == 0
    report = tmp_path / "audit.html"
    code, _, err = cli("audit", "n", "--recipe", "tfidf", "--report", str(report), *w)
    assert code == 2 and "no free-text column" in err and "'text'" in err
    assert ws.analyses() == [] and not report.exists()

"""A new user's labeling loop on data the demo does not use: 40 real UCI sentiment
sentences imported without their labels, a double-labeled sample, two labelers, agreement,
a revised label book, adjudication, apply, then audit and train on the applied version."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

RECIPE = "featurizer: tfidf\nestimator: sklearn.linear_model.LogisticRegression\nseed: 0\n"
BOOK = "classes:\n  pos: The writer likes it.\n  neg: The writer dislikes it.\n"
BOOK2 = BOOK.replace("dislikes it.", "dislikes it; a warning to others is neg.")


@pytest.fixture
def sentences(tmp_path: Path, shared_data: Path) -> dict[str, str]:
    """40 sentences (Amazon, Yelp) as an unlabeled CSV, their labels; 30 IMDB ones held out."""
    rows = []
    for source in ("amazon_cells", "yelp"):
        text = (shared_data / "text" / f"{source}_labelled.txt").read_text(encoding="utf-8")
        for k, line in enumerate(text.splitlines()[:20]):
            sentence, label = line.rsplit("\t", 1)
            rows.append(
                (f"{source[:3]}{k}", sentence.strip(), source, "pos" if label == "1" else "neg")
            )
    frame = pd.DataFrame(rows, columns=["id", "text", "source", "truth"])
    frame.drop(columns="truth").to_csv(tmp_path / "sentences.csv", index=False)
    held = (shared_data / "text" / "imdb_labelled.txt").read_text(encoding="utf-8")
    pairs = [line.rsplit("\t", 1) for line in held.splitlines()[:30]]
    pd.DataFrame(
        {
            "id": [f"imd{k}" for k in range(len(pairs))],
            "text": [p[0].strip() for p in pairs],
            "source": "imdb",
            "label": ["pos" if p[1] == "1" else "neg" for p in pairs],
        }
    ).to_csv(tmp_path / "held.csv", index=False)
    return dict(zip(frame["id"], frame["truth"], strict=True))


def _json(cli, *args: str) -> object:
    code, out, err = cli(*args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_unlabeled_sentences_to_a_trained_version(cli, tmp_path: Path, sentences) -> None:
    w = ["-w", str(tmp_path / "ws")]
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    code, out, err = cli(
        "import", "sent", str(tmp_path / "sentences.csv"), "--id", "id", "--tags", "source", *w
    )
    assert code == 0 and "40 of 40 items await a label" in out, err
    (tmp_path / "book.yaml").write_text(BOOK)
    assert cli("labelbook", "edit", "sent", "--file", str(tmp_path / "book.yaml"), *w)[0] == 0
    sample = tmp_path / "sample.csv"
    code, out, err = cli("plan-sample", "sent", "--n", "20", "--out", str(sample), *w)
    assert code == 0 and "nan" not in out and f"--sample {sample}" in out, err
    plan = _json(cli, "label", "plan", "sent", "--labelers", "ann,ben", "--sample", str(sample), *w)
    assert plan["items"] == 40 and plan["sample"] == 20
    flips = {"yel3", "yel5", "ama3"}  # ben reads these three the other way
    given: dict[tuple[str, str], str] = {}
    for who in ("ann", "ben"):
        while task := _json(cli, "label", "next", "sent", "--labeler", who, *w):
            item = task["item_id"]
            label = sentences[item]
            if who == "ben" and item in flips:
                label = "neg" if label == "pos" else "pos"
            assert (
                cli("label", "submit", "sent", label, "--labeler", who, "--item", item, *w)[0] == 0
            )
            given[(item, who)] = label
    both = [i for i in sentences if (i, "ann") in given and (i, "ben") in given]
    live = _json(cli, "label", "agreement", "sent", *w)
    kappa = cohen_kappa_score([given[(i, "ann")] for i in both], [given[(i, "ben")] for i in both])
    assert live["report"]["mean_cohen_kappa"] == pytest.approx(kappa)
    (tmp_path / "book2.yaml").write_text(BOOK2)
    assert cli("labelbook", "edit", "sent", "--file", str(tmp_path / "book2.yaml"), *w)[0] == 0
    disagreed = {d["item"] for d in live["disagreed"]}
    assert disagreed == {i for i in both if given[(i, "ann")] != given[(i, "ben")]}
    for item in disagreed:
        assert cli("label", "adjudicate", "sent", sentences[item], "--item", item, *w)[0] == 0
    code, out, err = cli("label", "apply", "sent", "-m", "first labels", *w)
    assert code == 0 and "sent@v2: 40 items labeled" in out, err
    exported = tmp_path / "v2.csv"
    assert cli("export", "sent@v2", str(exported), *w)[0] == 0
    applied = pd.read_csv(exported, dtype=str)
    # every item's applied label: ann's (she labels the truth), ben's alone where only he labeled
    expected = {i: given.get((i, "ann"), given.get((i, "ben"))) for i in sentences}
    assert dict(zip(applied["id"], applied["label"], strict=True)) == expected
    (tmp_path / "r.yaml").write_text(RECIPE)
    assert cli("recipe", "add", "tfidf", str(tmp_path / "r.yaml"), *w)[0] == 0
    report = str(tmp_path / "audit.html")
    code, _, err = cli("audit", "sent@v2", "--recipe", "tfidf", "--report", report, *w)
    assert code in (0, 1), err
    assert cli("import", "held", str(tmp_path / "held.csv"), "--id", "id", *w)[0] == 0
    code, _, err = cli("train", "sent@v2", "--recipe", "tfidf", "--eval", "held", *w)
    assert code == 0, err

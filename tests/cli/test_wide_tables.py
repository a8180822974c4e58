"""Every command that prints a table or a list of rows fits 80 columns, ids first, long
text cut with an ellipsis; ``--wide`` prints every cell whole (issue 17, item 3).

One workspace of real data for all: 150 UCI sentiment sentences (the longest first, ids
first), a second version with a long message, added rows and flipped labels, three
annotators with long names, a label book with long definitions, a labeling plan, an
Elec2 monitor with alerts, and users.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from assay.cli.main import main

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
LONG_MESSAGE = (
    "relabel the sarcastic reviews after the second pass of the guidelines, which said "
    "that irony counts as negative whatever the words say"
)
LONG_USER = "reviewer-with-an-unusually-long-sign-in-name-from-the-quality-team"
LONG_LABELER = "labeler-with-a-very-long-name-from-the-vendor-team"
LONG_ANNOTATOR = "annotator-with-a-long-crowd-worker-identifier-A1PXXEOGQ76RNJ"
DESCRIPTION = (
    "The reviewer recommends the product or service, or praises it without reservation; "
    "mixed reviews whose last sentence praises count here too."
)
RECIPE = "featurizer: tfidf\nestimator: sklearn.linear_model.LogisticRegression\nseed: 0\n"


def _run(*args: str) -> tuple[int, str, str]:
    """``assay ARGS`` in-process, its exit code and output."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _sentences() -> pd.DataFrame:
    """150 real sentences, 50 per site, the longest first; ids name site and line."""
    parts = []
    for site in ("amazon", "yelp", "imdb"):
        path = DATA / "text" / f"{site}_cells_labelled.txt"
        path = path if path.exists() else DATA / "text" / f"{site}_labelled.txt"
        if not path.exists():
            pytest.skip(f"real data folder absent: {path}")
        frame = pd.read_csv(path, sep="\t", header=None, names=["text", "label"], quoting=3)
        frame = frame.head(70).copy()
        frame["id"] = [f"{site}-{k:03d}" for k in range(len(frame))]
        frame["site"] = f"{site} reviews from the UCI sentiment labelled sentences"
        parts.append(frame)
    frame = pd.concat(parts, ignore_index=True)
    frame["label"] = np.where(frame["label"] == 1, "positive", "negative")
    frame = frame.sort_values("text", key=lambda s: -s.str.len(), kind="stable")
    return frame[["id", "text", "label", "site"]].reset_index(drop=True)


def _elec(tmp: Path) -> None:
    """Elec2: 1,500 reference rows and a later batch of 1,000 (drifted)."""
    path = DATA / "drift" / "elec.csv"
    if not path.exists():
        pytest.skip(f"real data folder absent: {path}")
    frame = pd.read_csv(path)
    frame.insert(0, "id", range(len(frame)))
    frame.iloc[:1500].to_csv(tmp / "ref.csv", index=False)
    frame.iloc[30000:31000].to_csv(tmp / "batch.csv", index=False)


def _ok(*args: str) -> str:
    code, out, err = _run(*args)
    assert code in (0, 1), (args, err)
    return out


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The workspace and the texts every command is tested on."""
    tmp = tmp_path_factory.mktemp("wide")
    frame = _sentences()
    w = ["-w", str(tmp / "ws")]
    _ok("init", str(tmp / "ws"))
    train, test = frame.iloc[:150], frame.iloc[150:]
    train.iloc[:120].to_csv(tmp / "v1.tsv", sep="\t", index=False)
    v2 = train.copy()
    v2.loc[10:14, "label"] = np.where(v2.loc[10:14, "label"] == "positive", "negative",
                                      "positive")
    v2.to_csv(tmp / "v2.tsv", sep="\t", index=False)
    test.to_csv(tmp / "test.tsv", sep="\t", index=False)
    args = ["--label", "label", "--id", "id", "--tags", "site", *w]
    _ok("import", "reviews", str(tmp / "v1.tsv"), *args)
    _ok("import", "reviews", str(tmp / "v2.tsv"), "-m", LONG_MESSAGE, *args)
    _ok("import", "reviews-test", str(tmp / "test.tsv"), *args)
    (tmp / "tfidf.yml").write_text(RECIPE)
    _ok("recipe", "add", "tfidf", str(tmp / "tfidf.yml"), *w)
    rng = np.random.default_rng(0)
    labels = train["label"].to_numpy()[:60]
    rows = [
        (name, item, label if rng.random() > noise else rng.choice(["positive", "negative"]))
        for name, noise in ((LONG_ANNOTATOR, 0.4), ("ann", 0.05), ("ben", 0.1))
        for item, label in zip(train["id"][:60], labels, strict=True)
    ]
    pd.DataFrame(rows, columns=["annotator", "item", "label"]).to_csv(tmp / "ann.csv",
                                                                       index=False)
    _ok("annotations", "import", "reviews", str(tmp / "ann.csv"), *w)
    book = {"classes": {"positive": {"description": DESCRIPTION, "rules": [DESCRIPTION]},
                        "negative": {"description": "The reviewer advises against it."}}}
    (tmp / "book.json").write_text(json.dumps(book))
    _ok("labelbook", "edit", "reviews", "--file", str(tmp / "book.json"), "-m", "first", *w)
    book["classes"]["negative"]["description"] = DESCRIPTION.replace("recommends", "rejects")
    (tmp / "book.json").write_text(json.dumps(book))
    _ok("labelbook", "edit", "reviews", "--file", str(tmp / "book.json"), "-m", "second", *w)
    _ok("train", "reviews@v1", "--recipe", "tfidf", "--eval", "reviews-test", *w)
    _ok("train", "reviews@v2", "--recipe", "tfidf", "--eval", "reviews-test", *w)
    _labeling(tmp, w)
    _users(w)
    _elec(tmp)
    _ok("import", "elec", str(tmp / "ref.csv"), "--label", "class", "--id", "id", *w)
    _ok("monitor", "add", "elec-monitor", "--reference", "elec@v1", *w)
    _ok("monitor", "ingest", "elec-monitor", str(tmp / "batch.csv"), *w)
    yield {"tmp": tmp, "w": w, "frame": frame}


def _labeling(tmp: Path, w: list[str]) -> None:
    """A plan over three items for LONG_LABELER and bob; two items labeled apart."""
    pd.DataFrame({"item": ["imdb-042", "imdb-069", "yelp-002"]}).to_csv(tmp / "items.csv")
    _ok("label", "plan", "reviews", "--labelers", f"{LONG_LABELER},bob", "--items",
        str(tmp / "items.csv"), "--overlap", "1", *w)
    for item in ("imdb-042", "imdb-069"):
        _ok("label", "submit", "reviews", "positive", "--labeler", "bob", "--item", item, *w)
        _ok("label", "submit", "reviews", "negative", "--labeler", LONG_LABELER, "--item",
            item, *w)


def _users(w: list[str]) -> None:
    """A viewer with a long name and an API token."""
    stdin = sys.stdin
    sys.stdin = io.StringIO("a-long-enough-password-123\n")
    try:
        _ok("user", "add", LONG_USER, "--role", "viewer", "--password-stdin", *w)
    finally:
        sys.stdin = stdin
    _ok("token", "add", "ci-token-for-the-nightly-audit-job", "--user", LONG_USER, *w)


def _long_lines(out: str, tmp: Path) -> list[str]:
    """Lines over 80 columns, but for those naming the test's folder (a path)."""
    return [line for line in out.splitlines() if len(line) > 80 and str(tmp) not in line]


def _cells(out: str) -> str:
    """The output's words on one line (a wrapped sentence reads whole)."""
    return " ".join(out.split())


#: Command, arguments, and text that is cut at 80 columns and whole with --wide
#: (None: the output has none; only the width is checked).
COMMANDS: list[tuple[str, tuple[str, ...], str | None]] = [
    ("log", ("log", "reviews"), LONG_MESSAGE),
    ("show", ("show", "reviews"), "first-text"),
    ("diff", ("diff", "reviews@v1", "reviews@v2"), None),
    ("agree", ("agree", "reviews", "--report", "{tmp}/agree.html"), None),
    ("consensus", ("consensus", "reviews"), LONG_ANNOTATOR),
    ("audit", ("audit", "reviews", "--recipe", "tfidf", "--report", "{tmp}/a.html"), None),
    ("slices", ("slices", "reviews", "--recipe", "tfidf", "--by", "site"), "site-name"),
    ("experiments", ("experiments", "reviews"), None),
    ("compare", ("compare", "E1", "E2"), None),
    ("labelbook show", ("labelbook", "show", "reviews"), DESCRIPTION),
    ("labelbook diff", ("labelbook", "diff", "reviews", "1", "2"), None),
    ("monitor list", ("monitor", "list"), None),
    ("monitor status", ("monitor", "status"), None),
    ("drift", ("drift", "{tmp}/ref.csv", "{tmp}/batch.csv", "--report", "{tmp}/d.html"), None),
    ("recipe list", ("recipe", "list"), None),
    ("label status", ("label", "status", "reviews"), LONG_LABELER),
    ("label agreement", ("label", "agreement", "reviews"), LONG_LABELER),
    ("label next", ("label", "next", "reviews", "--labeler", "bob"), None),
    ("user list", ("user", "list"), LONG_USER),
    ("token list", ("token", "list"), LONG_USER),
    ("session list", ("session", "list"), None),
]


@pytest.mark.parametrize(("what", "args", "long"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_fits_80_columns_and_wide_shows_all(
    ws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, what: str, args: tuple[str, ...],
    long: str | None,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    tmp = ws["tmp"]
    args = tuple(a.format(tmp=tmp) for a in args) + (() if what == "drift" else tuple(ws["w"]))
    code, out, err = _run(*args)
    assert code in (0, 1), err
    assert not _long_lines(out, tmp), _long_lines(out, tmp)
    code, wide, err = _run(*args, "--wide")
    assert code in (0, 1), err
    assert "…" not in wide, wide
    if long == "first-text":
        long = ws["frame"]["text"].iloc[0]
    elif long == "site-name":
        long = ws["frame"]["site"].iloc[0]
    if long is not None:
        assert long not in out and "…" in out, out
        assert long in wide, wide

"""The collect loop on transcripts (real read speech, transcribers simulated with stated
conventions): annotations import, agree before / after the label book's normalisation,
consensus --commit with per-word confidence, and the word-level diff it makes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tests.collect.speech_conventions import convention_only_pairs, simulate
from tests.collect.speech_transcribers import SPEECH

from assay.store.workspace import Workspace

pytestmark = pytest.mark.skipif(not SPEECH.is_dir(), reason="the shared speech set is missing")

BOOK = """normalisation:
  fillers: [um, uh]
  apostrophes: drop
  case: lower
  punctuation: drop
  numbers: digits
"""


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    table = pd.read_csv(SPEECH / "transcripts.csv").head(40)
    ws.import_dataset(
        "speech",
        table.assign(item_id=table["file"].str[4:-4]),
        label="transcript",
        id="item_id",
        tags=["speaker"],
        task="transcript",
    )
    return ws


def test_agree_before_and_after_the_label_book_then_consensus(
    cli, ws: Workspace, tmp_path: Path
) -> None:
    w = ["-w", ws.location]
    truth = ws.dataset("speech").to_pandas()
    frame = simulate(truth["transcript"].tolist(), seed=5)
    frame["item"] = frame["item"].map({f"c{i}": v for i, v in enumerate(truth["item_id"])})
    frame[["item", "annotator", "label"]].to_csv(tmp_path / "ann.csv", index=False)
    report = str(tmp_path / "a.html")
    code, out, err = cli("agree", "speech", "--annotations", str(tmp_path / "ann.csv"),
                         "--json", "--report", report, *w)
    assert code == 0, err
    assert len(ws.annotations.load("speech")) == 120  # imported as a batch, then measured
    typed = json.loads(out)
    assert "normalised" not in typed and typed["wer"] > 0.5
    assert {t["tag"] for t in typed["tags"]} >= {"speaker=19"}
    code, _, err = cli("agree", "speech", "--labelbook", "1", "--report", report, *w)
    assert code == 2 and "no label book version 1" in err
    (tmp_path / "book.yaml").write_text(BOOK)
    assert cli("labelbook", "edit", "speech", "--file", str(tmp_path / "book.yaml"), *w)[0] == 0
    code, out, err = cli("agree", "speech", "--labelbook", "1", "--json", "--report", report, *w)
    assert code == 0, err
    both = json.loads(out)
    assert both["vanished_pairs"] == len(convention_only_pairs(frame)) > 0
    assert both["normalised"]["wer"] < 0.1 and both["revise"][0]["wer"] > 0
    code, out, _ = cli("agree", "speech", "--report", report, *w)  # the latest book: applied
    assert "pairs vanish after normalisation" in out
    assert all(len(line) <= 80 for line in out.splitlines() if not line.startswith("Report:"))
    code, out, err = cli("consensus", "speech", "--commit", "--json", *w)
    assert code == 0, err
    done = json.loads(out)
    assert done["version"] == "speech@v2" and done["kind"] == "transcript"
    assert "low_confidence_words" in done["labels"][0]
    code, out, _ = cli("diff", "speech@v1", "speech@v2", "--json", *w)
    assert json.loads(out)["counts"]["relabeled"] == 40  # now in the book's convention
    code, _, err = cli(
        "agree", str(tmp_path / "ann.csv"), "--labelbook", "1", "--report", report, *w
    )
    assert code == 2 and "--labelbook" in err

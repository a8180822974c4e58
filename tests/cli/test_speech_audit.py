"""``assay audit NAME`` on a transcript dataset of real read speech (mini-librispeech):
the offline recogniser (pocketsphinx, cached per clip in the workspace) or the user's
recogniser output (``--hypotheses FILE``); flagged clips go to the review queue."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from assay.store.workspace import Workspace
from assay.workflows._recogniser import workspace_cache

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speech_clips import clips as _clips  # noqa: E402
from speech_clips import workspace as _workspace  # noqa: E402


def test_hypotheses_file_flags_the_wrong_transcript_and_queues_it(
    tmp_path: Path, cli, shared_data: Path, db_url: str | None
) -> None:
    table = _clips(shared_data, tmp_path, 8)
    truth = table["transcript"].copy()
    given = table.copy()
    given.loc[2, "transcript"] = truth[5]  # the transcript of another clip
    w = _workspace(cli, tmp_path, given, db_url)
    # the user's recogniser heard the true words (lower case, with punctuation)
    hyps = pd.DataFrame(
        {"file": table["file"], "hypothesis": truth.str.lower() + ".", "confidence": 0.9}
    )
    hyps.loc[4, "hypothesis"] = " ".join(truth[4].lower().split()[1:])  # one word missed
    hyps.to_csv(tmp_path / "h.csv", index=False)
    code, out, err = cli("audit", "sp", "--hypotheses", str(tmp_path / "h.csv"), "--json", *w)
    assert code == 0, err
    result = json.loads(out)
    assert result["n_clips"] == 8 and result["n_flagged"] == 1 and result["queued"] == 1
    worst = result["worst"][0]
    assert worst["item_id"] == table["item_id"][2] and worst["is_label_issue"]
    assert worst["given_label"] == truth[5] and worst["suggested_label"] == truth[2]
    code, out, _ = cli("review", "list", "sp", "--json", *w)
    entries = json.loads(out)
    entries = entries.get("items", entries) if isinstance(entries, dict) else entries
    assert [e["item_id"] for e in entries] == [table["item_id"][2]]
    assert entries[0]["suggested_label"] == truth[2]


@pytest.mark.parametrize(
    "case",
    [
        "unknown clip",
        "missing clip",
        "not utf-8",
        "no column",
        "bad confidence",
        "both",
        "not transcripts",
    ],
)
def test_bad_hypotheses_exit_2_and_queue_nothing(
    tmp_path: Path, cli, shared_data: Path, case: str
) -> None:
    table = _clips(shared_data, tmp_path, 4)
    w = _workspace(cli, tmp_path, table)
    path = tmp_path / "h.csv"
    hyps = pd.DataFrame({"file": table["file"], "hypothesis": table["transcript"]})
    extra: list[str] = []
    if case == "unknown clip":
        hyps.loc[0, "file"] = "nobody.wav"
    elif case == "missing clip":
        hyps = hyps.head(3)
    elif case == "no column":
        hyps = hyps.rename(columns={"hypothesis": "text"})
    elif case == "bad confidence":
        hyps["confidence"] = 1.5
    elif case == "both":
        extra = ["--recipe", "pocketsphinx"]
    elif case == "not transcripts":
        pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": ["a", "b", "a"]}).to_csv(tmp_path / "c.csv")
        assert cli("import", "tab", str(tmp_path / "c.csv"), "--label", "y", *w)[0] == 0
    hyps.to_csv(path, index=False)
    if case == "not utf-8":
        path.write_bytes(b"file,hypothesis\n" + table["file"][0].encode() + b",caf\xe9\n")
    name = "tab" if case == "not transcripts" else "sp"
    code, _, err = cli("audit", name, "--hypotheses", str(path), *extra, *w)
    assert code == 2, err
    assert (
        len(err.strip().splitlines()) == 1 and "h.csv" in err or case in {"both", "not transcripts"}
    )
    assert Workspace(tmp_path / "ws").review.list("sp").empty


def test_pocketsphinx_audit_caches_every_clip(tmp_path: Path, cli, shared_data: Path) -> None:
    pytest.importorskip("pocketsphinx")
    table = _clips(shared_data, tmp_path, 3)
    w = _workspace(cli, tmp_path, table)
    code, out, err = cli("audit", "sp", "--recipe", "pocketsphinx", "--no-queue", "--json", *w)
    assert code == 0, err
    first = json.loads(out)
    assert first["recogniser"] == "pocketsphinx" and first["n_clips"] == 3
    assert 0 <= first["corpus_wer"] < 1
    assert len(workspace_cache(Workspace(tmp_path / "ws"))) == 3
    code, out, _ = cli("audit", "sp", "--recipe", "pocketsphinx", "--no-queue", "--json", *w)
    assert json.loads(out)["worst"] == first["worst"]  # read back from the cache


def test_recogniser_not_installed_is_one_line_with_the_install_command(
    tmp_path: Path, cli, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = _clips(shared_data, tmp_path, 3)
    w = _workspace(cli, tmp_path, table)
    monkeypatch.setitem(sys.modules, "pocketsphinx", None)  # what an absent package does
    code, _, err = cli("audit", "sp", "--recipe", "pocketsphinx", *w)
    assert code == 2
    assert "pip install 'assay[speech]'" in err and len(err.strip().splitlines()) == 1

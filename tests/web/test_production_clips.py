"""Production clips sampled by ``assay monitor clips`` play on the review page: served
from the path the monitor recorded in the entry (a request names an entry, never a
path), and nothing else is served from that route."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from assay.store.transcript_import import TranscriptSource
from assay.store.workspace import Workspace
from assay.workflows.speech_monitor import check_speech_batch

SPEAKERS = ("jackson", "theo", "george")
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def _copy(fsdd: Path, folder: Path, recordings: range) -> pd.DataFrame:
    folder.mkdir(parents=True)
    rows = []
    for speaker in SPEAKERS:
        for digit in (1, 4, 7):
            for i in recordings:
                file = f"{digit}_{speaker}_{i}.wav"
                shutil.copy(fsdd / file, folder / file)
                rows.append({"file": file, "transcript": WORDS[digit], "speaker": speaker})
    return pd.DataFrame(rows)


@pytest.fixture
def sampled(web_ws: Workspace, shared_data: Path, tmp_path: Path) -> tuple[dict, Path]:
    """A transcript dataset and one production clip sampled to review by the monitor."""
    fsdd = shared_data / "audio" / "fsdd"
    if not fsdd.is_dir():
        pytest.skip(f"{fsdd} is absent")
    table = _copy(fsdd, tmp_path / "clips", range(2))
    table.to_csv(tmp_path / "clips" / "t.csv", index=False)
    web_ws.import_dataset(
        "speech",
        TranscriptSource(tmp_path / "clips" / "t.csv"),
        task="transcript",
        label="transcript",
        tags=["speaker"],
    )
    batch = _copy(fsdd, tmp_path / "batch", range(40, 41))
    heard = batch.assign(
        hypothesis=batch["transcript"],
        confidence=[0.1 if s == "george" else 0.9 for s in batch["speaker"]],
    )
    heard[["file", "hypothesis", "confidence"]].to_csv(tmp_path / "b.csv", index=False)
    ref = table.assign(hypothesis=table["transcript"], confidence=0.9)
    ref[["file", "hypothesis", "confidence"]].to_csv(tmp_path / "r.csv", index=False)
    check_speech_batch(
        web_ws,
        "speech",
        tmp_path / "batch",
        hypotheses=tmp_path / "b.csv",
        reference_hypotheses=tmp_path / "r.csv",
        n_review=1,
    )
    entries = web_ws.review.list("speech", source="drift_sample")
    assert len(entries) == 1
    entry = web_ws.review.get(int(entries["id"].iloc[0]))
    return entry, tmp_path / "batch" / entry["item_id"].removeprefix("clip:")


def test_review_page_plays_the_production_clip(client_for, sampled) -> None:
    entry, clip = sampled
    client, _ = client_for("vic")
    page = client.get(f"/review/entry/{entry['id']}")
    assert page.status_code == 200
    url = f"/review/entry/{entry['id']}/clip"
    assert f'src="{url}"' in page.text
    played = client.get(url)
    assert played.status_code == 200 and played.content == clip.read_bytes()


def test_only_recorded_production_clips_are_served(client_for, web_ws, sampled) -> None:
    client, _ = client_for("vic")
    # an entry of another source (a label issue of the digits) has no clip to play
    other = int(web_ws.review.list("digits")["id"].iloc[0])
    assert client.get(f"/review/entry/{other}/clip").status_code == 404
    assert client.get("/review/entry/999999/clip").status_code == 404
    # signed out: refused
    entry, _ = sampled
    anonymous = client_for("rob")[0]
    anonymous.cookies.clear()
    assert client.get(f"/review/entry/{entry['id']}/clip").status_code == 200
    assert anonymous.get(
        f"/review/entry/{entry['id']}/clip", follow_redirects=False
    ).status_code in (302, 303, 401, 403)


def test_production_clip_refuses_what_the_monitor_did_not_record(tmp_path: Path) -> None:
    from assay.web.transcript_view import production_clip

    wav = tmp_path / "a.wav"
    wav.write_bytes(b"RIFF")
    ok = {"id": 1, "source": "drift_sample", "payload": {"path": str(wav)}}
    assert production_clip(ok) == wav.resolve()
    for bad in (
        {**ok, "source": "label_issue"},
        {**ok, "payload": {"path": "/etc/passwd"}},
        {**ok, "payload": {"path": "a.wav"}},
        {**ok, "payload": {}},
        {**ok, "payload": {"path": str(tmp_path / "gone.wav")}},
    ):
        assert production_clip(bad) is None

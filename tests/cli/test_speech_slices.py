"""``assay slices NAME --hypotheses FILE`` on real read speech: WER per tag with intervals
against human-level WER from two transcribers, discovered slices over audio features;
and a batch of production clips (car noise made with the existing augmentation) checked
for drift with low-confidence clips sent to review."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.io import wavfile

from assay._wer import word_error_rate
from assay.modalities.audio import read_wav
from assay.store.workspace import Workspace
from assay.train.augment._audio import augment_audio_array

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speech_clips import clips as _clips  # noqa: E402
from speech_clips import workspace as _workspace  # noqa: E402


def _hypotheses(table: pd.DataFrame, wrong_speaker: int) -> pd.DataFrame:
    """The true words, except every clip of ``wrong_speaker`` loses its first two words."""
    hyps = table["transcript"].str.lower().tolist()
    for i in np.flatnonzero(table["speaker"].to_numpy() == wrong_speaker):
        hyps[i] = " ".join(hyps[i].split()[2:])
    return pd.DataFrame({"file": table["file"], "hypothesis": hyps, "confidence": 0.8})


def test_wer_per_tag_against_human_level(tmp_path: Path, cli, shared_data: Path) -> None:
    table = _clips(shared_data, tmp_path, 12)
    w = _workspace(cli, tmp_path, table)
    worst = int(table["speaker"].value_counts().index[0])  # the reader with most clips
    hyps = _hypotheses(table, worst)
    hyps.to_csv(tmp_path / "h.csv", index=False)
    # two transcribers on two clips: one agrees, one writes 'QUITE HAPPY' for 'QUAITE APPY'
    first, second = table["item_id"][0], table["item_id"][1]
    rows = [
        (first, "a", table["transcript"][0]),
        (first, "b", table["transcript"][0].lower()),
        (second, "a", table["transcript"][1]),
        (second, "b", "x " + table["transcript"][1]),
    ]
    pd.DataFrame(rows, columns=["item", "annotator", "label"]).to_csv(
        tmp_path / "a.csv", index=False
    )
    assert cli("annotations", "import", "sp", str(tmp_path / "a.csv"), *w)[0] == 0
    code, out, err = cli(
        "slices", "sp", "--hypotheses", str(tmp_path / "h.csv"), "--find", "--json", *w
    )
    assert code == 0, err
    result = json.loads(out)
    expected = word_error_rate(
        table["transcript"].tolist(), hyps["hypothesis"].str.upper().tolist()
    )
    assert abs(result["wer"]["value"] - expected) < 1e-12
    assert result["wer"]["low"] <= expected <= result["wer"]["high"]
    words = len(table["transcript"][1].split())
    assert (
        abs(result["human_wer"] - 1 / (words + 0.5 + len(table["transcript"][0].split()))) < 1e-9
    )  # pairs a-b, b-a: 1 insertion / deletion over the mean words
    top = result["tag_table"][1]
    assert top["tag"] == f"speaker={worst}" and top["wer"] > result["wer"]["value"]
    assert {r["tag"].split("=")[0] for r in result["tag_table"][1:]} == {"speaker", "duration"}
    assert "slices" in result
    code, out, _ = cli("slices", "sp", "--hypotheses", str(tmp_path / "h.csv"), *w)
    assert code == 0 and f"speaker={worst}" in out and "human-level WER" in out


def test_slices_bad_hypotheses_exit_2(tmp_path: Path, cli, shared_data: Path) -> None:
    table = _clips(shared_data, tmp_path, 4)
    w = _workspace(cli, tmp_path, table)
    pd.DataFrame({"file": ["other.wav"], "hypothesis": ["x"]}).to_csv(tmp_path / "h.csv")
    code, _, err = cli("slices", "sp", "--hypotheses", str(tmp_path / "h.csv"), *w)
    assert code == 2 and len(err.strip().splitlines()) == 1
    code, _, err = cli(
        "slices", "sp", "--hypotheses", str(tmp_path / "h.csv"), "--recipe", "pocketsphinx", *w
    )
    assert code == 2 and "--hypotheses" in err


def test_car_noise_batch_drifts_and_low_confidence_clips_are_queued(
    tmp_path: Path, cli, shared_data: Path
) -> None:
    table = _clips(shared_data, tmp_path, 8)
    _workspace(cli, tmp_path, table)
    batch = tmp_path / "batch"
    batch.mkdir()
    for i, file in enumerate(table["file"]):
        rate, x = read_wav(tmp_path / "clips" / file)
        y, _ = augment_audio_array(x, rate, i, transforms=("car_noise",), snr_db=(-15, -10))
        y = y * 0.99 / max(float(np.abs(y).max()), 0.99)
        wavfile.write(batch / file, rate, (y * 32767).astype("<i2"))
    ref = pd.DataFrame(
        {
            "file": table["file"],
            "hypothesis": table["transcript"],
            "confidence": np.linspace(0.8, 0.95, 8),
        }
    )
    heard = ref.assign(confidence=np.linspace(0.2, 0.5, 8))
    ref.to_csv(tmp_path / "ref.csv", index=False)
    heard.to_csv(tmp_path / "batch.csv", index=False)
    ws = Workspace(tmp_path / "ws")
    w = ["-w", str(tmp_path / "ws")]
    code, _, err = cli("monitor", "clips", "sp", str(batch), *w)
    assert code == 2 and "--recipe pocketsphinx or --hypotheses" in err
    code, _, err = cli(
        "monitor", "clips", "sp", str(batch), "--hypotheses", str(tmp_path / "batch.csv"), *w
    )
    assert code == 2 and "--reference-hypotheses" in err
    assert ws.review.list("sp").empty
    code, out, err = cli(
        "monitor",
        "clips",
        "sp",
        str(batch),
        "--hypotheses",
        str(tmp_path / "batch.csv"),
        "--reference-hypotheses",
        str(tmp_path / "ref.csv"),
        "--sample",
        "3",
        "--json",
        *w,
    )
    assert code == 1, err  # drifted
    result = json.loads(out)
    drifted = {c["column"] for c in result["columns"] if c["drifted"]}
    assert result["drifted"] and {"noise_db", "confidence"} <= drifted
    assert "duration_s" not in drifted and "speaking_rate" not in drifted
    assert result["queued"] == 3
    queue = ws.review.list("sp", source="drift_sample")
    assert len(queue) == 3 and queue["item_id"].str.startswith("clip:").all()
    assert {c["reason"] for c in result["sampled"]} <= {"low_confidence", "random"}
    assert "low_confidence" in {c["reason"] for c in result["sampled"]}
    names = {"clip:" + Path(c["file"]).name for c in result["sampled"]}
    assert set(queue["item_id"]) == names
    words = dict(zip("clip:" + table["file"], table["transcript"], strict=True))
    assert all(queue["suggested_label"] == queue["item_id"].map(words))

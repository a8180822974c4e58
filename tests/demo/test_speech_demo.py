"""`assay demo --task speech`: real read speech (Mini LibriSpeech) with planted transcript
errors and a car-noise slice. The demo is built once (a module fixture, with the real
offline recogniser when pocketsphinx is installed); the tests check its facts against
the workspace, against jiwer and against the truth the demo planted its errors from.
Without pocketsphinx the demo says how to install it and tells the other chapters."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from itertools import combinations
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
import pandas as pd
import pytest

from assay.cli.main import main
from assay.demo import speech
from assay.demo import speech_data as data
from assay.store.workspace import Workspace


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    pytest.importorskip("pocketsphinx")
    path = tmp_path_factory.mktemp("speech") / "demo"
    code, out, err = _run("demo", "--task", "speech", str(path), "--json")
    assert code == 0, err
    return {"path": path, "json": json.loads(out)}


@pytest.fixture(scope="module")
def truth(shared_data: Path) -> pd.DataFrame:
    return data.choose_clips(shared_data / "speech" / "mini-librispeech")


def test_clips_are_chosen_and_errors_planted_as_stated(truth: pd.DataFrame) -> None:
    assert len(truth) == data.N_CLIPS and (truth["noise"] == "car").sum() == data.N_CAR
    assert truth["speaker"].nunique() == 28 and truth["duration"].sum() < 300
    vocabulary = sorted({w for t in truth["truth"] for w in t.split()})
    typed, kind, wrong = data.plant_errors(truth["truth"], vocabulary, share=0.3, seed=0)
    again, _, _ = data.plant_errors(truth["truth"], vocabulary, share=0.3, seed=0)
    assert typed.equals(again) and (kind != "ok").sum() == round(0.3 * len(truth))
    assert ((typed != truth["truth"]) == (kind != "ok")).all()
    conv = kind == "convention"
    assert conv.sum() > 0 and wrong.sum() == (kind != "ok").sum() - conv.sum()
    normalised = data.NORMALISATION.apply_all(typed[conv].tolist())
    assert normalised == truth["truth"][conv].tolist()  # the label book undoes conventions
    for t, k, true in zip(typed, kind, truth["truth"], strict=True):
        if k == "dropped":
            assert 3 <= len(true.split()) - len(t.split()) <= 4
        elif k == "substituted":
            diff = sum(a != b for a, b in zip(t.split(), true.split(), strict=True))
            assert 1 <= diff <= 3


def test_facts_match_the_workspace(demo: dict[str, Any], truth: pd.DataFrame) -> None:
    facts, path = demo["json"]["facts"], demo["path"]
    ws = Workspace(path)
    try:
        v1 = ws.dataset("speech@v1").to_pandas().set_index("item_id")
        latest = ws.dataset("speech").to_pandas().set_index("item_id")
        annotations = ws.annotations.load("speech")
        assert ws.dataset("speech").task.kind == "transcript"
    finally:
        ws.close()
    true = pd.Series(truth["truth"].to_numpy(), index=[Path(f).stem for f in truth["file"]])
    assert facts["data"]["typed_wrong"] == int((v1["transcript"] != true.loc[v1.index]).sum())
    assert (path / "clips").is_dir() and len(list((path / "clips").glob("*.wav"))) == 64
    assert set(v1.loc[v1["noise"] == "car"].index) == set(
        true.index[truth["noise"].to_numpy() == "car"]
    )
    # the transcribers' WER as typed and after the label book, as jiwer computes it
    for key, norm in (("wer_typed", str), ("wer_normalised", data.NORMALISATION.apply)):
        texts = annotations.pivot(index="item", columns="annotator", values="label")
        refs, hyps = [], []
        for a, b in combinations(sorted(data.TRANSCRIBERS), 2):
            refs += [norm(t) for t in texts[a]]
            hyps += [norm(t) for t in texts[b]]
        assert facts["collect"][key] == pytest.approx(jiwer.wer(refs, hyps), abs=1e-9)
    assert facts["collect"]["vanished"] > 0
    assert facts["collect"]["wer_normalised"] < facts["collect"]["wer_typed"] / 3
    assert facts["collect"]["rover_wer"] <= min(facts["collect"]["transcriber_wer"].values())
    left = sum(data.NORMALISATION.apply(t) != true.loc[i] for i, t in latest["transcript"].items())
    assert facts["iterate"]["errors_left"] == left < facts["data"]["real_errors"]


def test_audit_slices_and_drift(demo: dict[str, Any]) -> None:
    facts = demo["json"]["facts"]
    audit = facts["audit"]
    assert audit["auprc"] > 2 * audit["base_rate"]
    assert audit["queued"] + audit["extra"] == speech.BUDGET
    assert facts["iterate"]["relabel"] == audit["caught_in_budget"] > 0
    wer = {s["slice"]: s for s in facts["slices"]}
    car, clean = wer["noise=car"], wer["noise=clean"]
    assert car["value"] > clean["value"] and car["clips"] == data.N_CAR
    assert car["low"] <= car["value"] <= car["high"]
    deploy = facts["deploy"]
    assert {"noise_db", "snr_db"} & set(deploy["drifted"])
    assert deploy["batch"] == speech.N_PRODUCTION and deploy["queued"] == speech.N_SAMPLED


def test_without_the_recogniser_the_demo_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    monkeypatch.setitem(sys.modules, "pocketsphinx", None)  # as if not installed
    code, out, err = _run("demo", "--task", "speech", str(tmp_path / "d"))
    assert code == 0, err
    story = " ".join(out.split())
    assert "pip install 'assay[speech]'" in story and "(skipped)" in story
    assert "Collect" in out and "Deploy" in out and "Slices" not in out


def test_missing_speech_data_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_SPEECH_DATA", str(tmp_path / "nowhere"))
    code, out, err = _run("demo", "--task", "speech", str(tmp_path / "d"))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "ASSAY_SPEECH_DATA" in err and "transcripts.csv" in err


def test_car_noise_lowers_the_snr_of_the_copied_clips(
    demo: dict[str, Any], shared_data: Path
) -> None:
    from assay.modalities.audio import read_wav

    name = next(
        p for p in sorted((demo["path"] / "clips").glob("*.wav")) if _is_car(demo["path"], p.stem)
    )
    rate, noisy = read_wav(demo["path"] / "clips" / name.name)
    _, clean = read_wav(shared_data / "speech" / "mini-librispeech" / "wav" / name.name)
    noise = noisy - clean
    snr = 20 * np.log10(np.sqrt(np.mean(clean**2)) / np.sqrt(np.mean(noise**2)))
    assert abs(snr - data.CAR_SNR_DB) < 0.5 and rate == 16_000


def _is_car(path: Path, stem: str) -> bool:
    table = pd.read_csv(path / "clips" / "transcripts.csv")
    return bool((table.loc[table["file"] == f"{stem}.wav", "noise"] == "car").all())

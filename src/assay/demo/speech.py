"""``assay demo --task speech``: real read speech, transcripts as labels, WER in the loop.

The data: 64 short utterances of Mini LibriSpeech (the two shortest of each of its 28
LibriVox readers, then the next eight shortest; CC BY 4.0, exact transcripts), read
from ``../shared/data/speech/mini-librispeech`` beside the repository, or the folder
``ASSAY_SPEECH_DATA`` names. The clips are copied into the demo workspace; 16 of them
(seeded) are recorded "in a car": synthetic car noise mixed in at 0 dB SNR
(:func:`assay.train.augment._audio.car_noise`), the slide-20 slice.

The story, one chapter per phase (the demo plays the transcribers and the reviewer; it
knows the true transcripts, which assay never sees):

- **Data**: the clips are imported with 30% of their transcripts typed wrong: a third
  only by slide 9's conventions (a leading "um," and lower case), two thirds by real
  errors (two or three words substituted, or three or four words dropped).
- **Collect**: three transcribers type 24 clips; their agreement in WER before and
  after the label book's normalisation (fillers dropped, upper case, no punctuation):
  the convention-only disagreements vanish. ROVER consensus against the truth.
- **Train**: the transcripts are normalised by the label book (a new version); the
  fixed recogniser (pocketsphinx, offline) audits them: clips that disagree with it far
  beyond its usual error are queued, scored against the planted errors (AUPRC, and the
  baseline: ranking by the recogniser's WER alone).
- **Iterate**: the reviewer (the demo) fixes the queued clips that are wrong and keeps
  the others; applying makes a new version.
- **Slices**: the recogniser's WER per slice (noise, reader's sex) with intervals: the
  car-noise slice stands out.
- **Deploy**: the speech monitor checks a production batch (12 clean clips recorded
  again in the car) against the dataset: its audio features (duration, loudness, noise
  level, SNR, speaking rate) and the recogniser's confidence drift, and the least
  confident clips go to transcription review.

pocketsphinx is the optional ``speech`` extra: without it the demo says how to install
it and tells the chapters that do not need it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console

from assay.demo.kinds import audit_scores, decide_with_oracle, wrap
from assay.demo.speech_data import (
    CAR_SNR_DB,
    N_CAR,
    NORMALISATION,
    TRANSCRIBERS,
    WRONG_SHARE,
    choose_clips,
    data_folder,
    plant_errors,
    transcriptions,
    write_clips,
)
from assay.store.workspace import Workspace

__all__ = ["BUDGET", "CHAPTERS", "NAME", "N_TRANSCRIBED"]

NAME = "speech"
N_TRANSCRIBED = 24
#: Clips the reviewer listens to in all: the audit's flags, then down its ranking.
BUDGET = 16
#: Production clips of the deploy chapter (clean clips recorded again in the car), and
#: how many of them go to transcription review.
N_PRODUCTION, N_SAMPLED = 12, 4


def chapter_data(ws: Workspace, console: Console, result: Any) -> None:
    """Copy the clips (a car-noise slice mixed in) and import them with their
    transcripts as typed."""
    from assay.store.transcript_import import TranscriptSource

    folder = data_folder()
    clips = choose_clips(folder)
    vocabulary = sorted(
        {w for t in pd.read_csv(folder / "transcripts.csv")["transcript"] for w in str(t).split()}
    )
    typed, kind, wrong = plant_errors(clips["truth"], vocabulary, share=WRONG_SHARE, seed=0)
    root = result.workspace / "clips"
    write_clips(folder, clips, root)
    table = clips.assign(file=[Path(str(f)).name for f in clips["file"]], transcript=typed)
    table[["file", "transcript", "speaker", "sex", "noise"]].to_csv(
        root / "transcripts.csv", index=False
    )
    version = ws.import_dataset(
        NAME,
        TranscriptSource(root / "transcripts.csv", clips=root),
        task="transcript",
        label="transcript",
        tags=["speaker", "sex", "noise"],
        message=f"import {len(clips)} clips with their transcripts as typed",
    )
    ids = version.to_pandas()["item_id"].astype(str).tolist()
    stems = [Path(str(f)).stem for f in clips["file"]]
    result.truth = pd.Series(clips["truth"].to_numpy(), index=stems).loc[ids]
    result.wrong = pd.Series(wrong.to_numpy(), index=stems).loc[ids]
    result.kinds = pd.Series(kind.to_numpy(), index=stems).loc[ids]
    result.noise = pd.Series(clips["noise"].to_numpy(), index=stems).loc[ids]
    counts = kind.value_counts()
    wrap(
        console,
        f"{version.ref}: {len(clips)} clips of read speech ({clips['duration'].sum():.0f} s, "
        f"{clips['speaker'].nunique()} LibriVox readers, Mini LibriSpeech), label: the "
        f"transcript. {int((kind != 'ok').sum())} transcripts ({WRONG_SHARE:.0%}) typed "
        f"wrong: {counts.get('convention', 0)} by conventions only ('um, ', lower case), "
        f"{counts.get('substituted', 0)} with substituted words, "
        f"{counts.get('dropped', 0)} with dropped words. {N_CAR} clips recorded in a car "
        f"(car noise at {CAR_SNR_DB:.0f} dB SNR).",
        "[bold]Data[/bold]",
    )
    result.facts["data"] = {
        "ref": version.ref,
        "clips": len(clips),
        "task": "transcript",
        "seconds": float(clips["duration"].sum()),
        "car_clips": N_CAR,
        "typed_wrong": int((kind != "ok").sum()),
        "real_errors": int(wrong.sum()),
        "convention_only": int(counts.get("convention", 0)),
    }
    result.next_steps += [
        f"assay log {NAME} -w {ws.location}",
        f"assay show {NAME}@v1 -w {ws.location}",
    ]


def chapter_collect(ws: Workspace, console: Console, result: Any) -> None:
    """Three transcribers on 24 clips: WER between them before and after the label
    book's normalisation; ROVER consensus against the truth."""
    from assay._wer import word_error_rate
    from assay.workflows.agreement import AgreementSource, measure_agreement
    from assay.workflows.consensus import run_consensus

    sample = result.truth[result.noise == "clean"].sample(N_TRANSCRIBED, random_state=1)
    vocabulary = sorted({w for t in result.truth for w in str(t).split()})
    typed = transcriptions(sample, vocabulary, seed=1)
    ws.labelbook.save(
        NAME,
        {},
        normalisation=NORMALISATION.to_dict(),
        message="transcription convention: LibriSpeech style, no fillers",
    )
    ws.annotations.add(NAME, typed)
    report = measure_agreement(
        AgreementSource(typed, ws, NAME),
        report=result.workspace / "agreement.html",
        title="Agreement of the transcribers",
    ).report
    after = report.normalised_rates
    labels = run_consensus(ws, NAME).labels["label"].reindex(sample.index).fillna("")
    each = {
        name: word_error_rate(
            sample.tolist(),
            NORMALISATION.apply_all(
                typed[typed["annotator"] == name]
                .set_index("item")["label"]
                .reindex(sample.index)
                .fillna("")
                .tolist()
            ),
        )
        for name in TRANSCRIBERS
    }
    rover = word_error_rate(sample.tolist(), labels.astype(str).tolist())
    wrap(
        console,
        f"three transcribers on {N_TRANSCRIBED} clips: WER between them {report.wer:.3f} "
        f"as typed ({report.rates.n_disagreeing} disagreeing pairs); after the label "
        f"book's normalisation ({NORMALISATION.describe()}) {after.wer:.3f}: "
        f"{report.vanished} pairs that differed only by conventions agree. ROVER "
        f"consensus WER against the truth {rover:.3f} (each transcriber, normalised: "
        + ", ".join(f"{k} {v:.3f}" for k, v in each.items())
        + ").",
        "[bold]Collect[/bold]",
    )
    result.facts["collect"] = {
        "wer_typed": report.wer,
        "wer_normalised": after.wer,
        "vanished": report.vanished,
        "disagreeing_typed": report.rates.n_disagreeing,
        "disagreeing_normalised": after.n_disagreeing,
        "rover_wer": rover,
        "transcriber_wer": each,
        "items": [str(i) for i in sample.index],
    }
    result.next_steps += [
        f"assay agree {NAME} -w {ws.location}",
        f"assay labelbook show {NAME} -w {ws.location}",
    ]


def _normalise_version(ws: Workspace) -> Any:
    """A new version whose transcripts follow the label book's convention."""
    frame = ws.dataset(NAME).to_pandas()
    fixed = frame.assign(transcript=NORMALISATION.apply_all(frame["transcript"].tolist()))
    changed = int((fixed["transcript"] != frame["transcript"]).sum())
    return ws.commit(
        NAME, fixed, message=f"transcripts normalised by the label book ({changed} changed)"
    ), changed


def _recogniser_missing() -> str | None:
    """The install hint when pocketsphinx is not installed, else None."""
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        from assay.train.recipe._speech import INSTALL_HINT

        return INSTALL_HINT
    return None


def chapter_audit(ws: Workspace, console: Console, result: Any) -> None:
    """Normalise the transcripts by the label book, then audit them with the recogniser."""
    from assay.workflows.transcript_audit import run_transcript_audit

    version, changed = _normalise_version(ws)
    missing = _recogniser_missing()
    if missing is not None:
        result.audit = None
        from rich.markup import escape

        wrap(
            console,
            f"{version.ref}: {changed} transcripts normalised by the label book. "
            f"The audit, review and slices need the offline recogniser: {escape(missing)} "
            "(skipped).",
            "[bold]Train[/bold]",
        )
        result.facts["audit"] = {"skipped": missing}
        return
    audit = run_transcript_audit(ws, version.ref, recogniser="pocketsphinx")
    items = audit.items.set_index("item_id")
    wrong = result.wrong.loc[items.index].to_numpy()
    score = audit_scores(
        items["label_quality"].to_numpy(), items["is_label_issue"].to_numpy(dtype=bool), wrong
    )
    from sklearn.metrics import average_precision_score

    baseline = float(average_precision_score(wrong, items["wer"].to_numpy(dtype=float)))
    car = result.noise.loc[items.index].to_numpy() == "car"
    false_car = int((items["is_label_issue"].to_numpy(bool) & car & ~wrong).sum())
    result.audit = audit
    extra = _queue_next(ws, audit.items, BUDGET - audit.queued)
    wrap(
        console,
        f"{version.ref}: {changed} transcripts normalised by the label book. The fixed "
        f"recogniser (pocketsphinx, offline) heard every clip: WER {audit.corpus_wer:.3f} "
        f"against the given transcripts. {_clips(score['flagged'])} flagged (far more "
        f"edits than its usual error); against the {score['wrong']} planted errors "
        f"precision {score['precision']:.2f}, recall {score['recall']:.2f}, AUPRC "
        f"{score['auprc']:.2f} (ranking by WER alone: {baseline:.2f}; random: "
        f"{score['base_rate']:.2f}). {false_car} flagged clips are right but in car "
        f"noise: the recogniser fails there, not the label. {audit.queued} queued, and "
        f"the next {extra} down the ranking (a reviewer's budget of {BUDGET}).",
        "[bold]Train[/bold]",
    )
    top = items.head(BUDGET)
    caught = int(result.wrong.loc[top.index].sum())
    result.facts["audit"] = {
        **score,
        "baseline_auprc": baseline,
        "queued": audit.queued,
        "extra": extra,
        "caught_in_budget": caught,
        "corpus_wer": audit.corpus_wer,
        "flagged_car_right": false_car,
    }
    result.next_steps.append(f"assay review list {NAME} -w {ws.location}")


def _queue_next(ws: Workspace, items: pd.DataFrame, n: int) -> int:
    """Queue the ``n`` most suspicious clips the audit did not flag (``items`` most
    suspicious first), as a reviewer's budget spent down the ranking."""
    rest = items[~items["is_label_issue"].to_numpy(bool)].head(max(n, 0))
    if not len(rest):
        return 0
    entries = pd.DataFrame(
        {
            "item_id": rest["item_id"].to_numpy(),
            "reason": "next down the audit's ranking",
            "score": np.clip(rest["label_quality"].to_numpy(dtype=float), 0, 1),
            "given_label": rest["given_label"].to_numpy(dtype=object),
            "suggested_label": rest["suggested_label"].to_numpy(dtype=object),
        }
    )
    return int(ws.review.add(NAME, entries, source="label_issue"))


def chapter_iterate(ws: Workspace, console: Console, result: Any) -> None:
    """The reviewer listens to the queued clips: fixes the wrong transcripts, keeps the
    right ones; applying makes a new version."""
    if result.audit is None:
        return
    entries = ws.review.list(NAME, source="label_issue", status="open")

    def fix(entry: Any) -> str | None:
        item = str(entry.item_id)
        return str(result.truth.loc[item]) if bool(result.wrong.loc[item]) else None

    done = decide_with_oracle(ws, entries, fix, keep_note="listened: the transcript is right",
                              relabel_note="listened: the transcript was wrong")
    if not sum(done.values()):
        wrap(console, "nothing queued to review.", "[bold]Iterate[/bold]")
        return
    version = ws.review.apply(NAME, user="reviewer", message="the reviewer's decisions")
    latest = version.to_pandas().set_index("item_id")["transcript"]
    left = int(
        sum(
            NORMALISATION.apply(str(latest.loc[i])) != NORMALISATION.apply(str(t))
            for i, t in result.truth.items()
        )
    )
    wrap(
        console,
        f"the reviewer listened to the {sum(done.values())} queued clips: "
        f"{done['relabel']} transcripts fixed, {done['keep']} kept; {version.ref} made, "
        f"{left} planted errors left.",
        "[bold]Iterate[/bold]",
    )
    result.facts["iterate"] = {**done, "version": version.ref, "errors_left": left}
    result.next_steps.append(f"assay diff {NAME}@v2 {version.ref} -w {ws.location}")


def chapter_slices(ws: Workspace, console: Console, result: Any) -> None:
    """The recogniser's WER per slice against the reviewed transcripts, with intervals."""
    if result.audit is None:
        return
    from assay.train.recipe._speech import normalise_words

    version = ws.dataset(NAME)
    frame = version.to_pandas().set_index("item_id")
    heard = result.audit.items.set_index("item_id")["suggested_label"].map(normalise_words)
    given = frame["transcript"].map(normalise_words).loc[heard.index]
    rows = []
    for column in ("noise", "sex"):
        for value, ids in frame.loc[heard.index].groupby(column).groups.items():
            score = version.task.score(given.loc[ids].tolist(), heard.loc[ids].tolist())
            rows.append(
                {
                    "slice": f"{column}={value}",
                    "clips": len(ids),
                    **{k: score["wer"][k] for k in ("value", "low", "high")},
                }
            )
    table = pd.DataFrame(rows).sort_values("value", ascending=False)
    worst = table.iloc[0]
    wrap(
        console,
        "recogniser WER by slice [95% interval]: "
        + "; ".join(
            f"{r.slice} ({r.clips} clips) {r.value:.2f} [{r.low:.2f}, {r.high:.2f}]"
            for r in table.itertuples()
        )
        + f". Worst: {worst['slice']}: collect or augment "
        "there (slide 21).",
        "[bold]Slices[/bold]",
    )
    result.facts["slices"] = table.to_dict("records")


def _drifted(report: Any) -> list[str]:
    return [str(c) for c in report.columns.index[report.columns["drifted"].to_numpy(bool)]]


def chapter_deploy(ws: Workspace, console: Console, result: Any) -> None:
    """A production batch recorded in the car (12 more clips) checked against the
    dataset by the speech monitor: audio features and the recogniser's confidence
    drift; the least confident clips go to transcription review. Without the
    recogniser: the audio features of the car slice against the clean clips."""
    from assay.deploy.drift_audio import speech_drift, speech_features

    version = ws.dataset(NAME)
    frame = version.to_pandas()
    if result.audit is not None:
        from assay.workflows.speech_monitor import check_speech_batch

        clean = choose_clips(data_folder(), seed=0)
        clean = clean[clean["noise"] == "clean"].head(N_PRODUCTION).assign(noise="car")
        folder = result.workspace / "production"
        write_clips(data_folder(), clean, folder)
        batch = check_speech_batch(
            ws, version.ref, folder, recogniser="pocketsphinx", n_review=N_SAMPLED
        )
        drifted = _drifted(batch.drift)
        wrap(
            console,
            f"speech monitor: a production batch of {len(clean)} clips recorded "
            f"in the car against {version.ref}: drifted "
            f"{', '.join(drifted) if drifted else 'nothing'}; {batch.queued} least "
            "confident clips sent to transcription review.",
            "[bold]Deploy[/bold]",
        )
        result.facts["deploy"] = {"drifted": drifted, "queued": batch.queued, "batch": len(clean)}
        result.next_steps.append(f"assay review list {NAME} --source drift_sample -w {ws.location}")
        return
    paths = [Path(str(version.media_root)) / str(p) for p in frame["path"]]
    features = speech_features(paths, frame["transcript"].tolist())
    car = (frame["noise"] == "car").to_numpy()
    drifted = _drifted(speech_drift(features[~car], features[car]))
    wrap(
        console,
        f"audio features of the {int(car.sum())} clips recorded in the car "
        f"against the {int((~car).sum())} clean clips: drifted "
        f"{', '.join(drifted) if drifted else 'nothing'}.",
        "[bold]Deploy[/bold]",
    )
    result.facts["deploy"] = {"drifted": drifted, "queued": 0, "batch": int(car.sum())}


def _clips(n: int) -> str:
    return f"{n} clip" if n == 1 else f"{n} clips"


CHAPTERS = [
    chapter_data,
    chapter_collect,
    chapter_audit,
    chapter_iterate,
    chapter_slices,
    chapter_deploy,
]

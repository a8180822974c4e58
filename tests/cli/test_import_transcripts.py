"""assay import of audio clips with transcripts (task transcript) on real read speech:
a CSV or LibriSpeech *.trans.txt files, word-level diffs, review relabels, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from tests.collect.speech_transcribers import SPEECH

from assay.store.workspace import Workspace

pytestmark = pytest.mark.skipif(not SPEECH.is_dir(), reason="the shared speech set is missing")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.init(tmp_path / "ws")


@pytest.fixture
def clips(tmp_path: Path) -> Path:
    """Six clips of speaker 19 with a transcripts.csv beside them."""
    folder = tmp_path / "clips"
    folder.mkdir()
    table = pd.read_csv(SPEECH / "transcripts.csv").head(6)
    for file in table["file"]:
        shutil.copy(SPEECH / file, folder / Path(file).name)
    table.assign(file=table["file"].map(lambda f: Path(f).name)).to_csv(
        folder / "transcripts.csv", index=False
    )
    return folder


def test_the_shared_set_imports_from_the_csv_and_from_the_chapter_files(cli, ws: Workspace) -> None:
    w = ["-w", ws.location]
    code, out, err = cli(
        "import",
        "speech",
        str(SPEECH / "wav"),
        "--transcripts",
        str(SPEECH / "transcripts.csv"),
        "--tags",
        "speaker",
        "--json",
        *w,
    )
    assert code == 0, err
    version = ws.dataset("speech")
    assert version.n_rows == 168 and version.task_kind == "transcript"
    frame = version.to_pandas()
    assert frame.loc[frame["item_id"] == "19-198-0000", "transcript"].item() == "NORTHANGER ABBEY"
    assert frame["duration"].between(1.8, 13.3).all()
    assert version.media_root == str((SPEECH / "wav").resolve())
    code, _, err = cli(
        "import", "chapters", str(SPEECH / "wav"), "--transcripts", str(SPEECH / "trans"), *w
    )
    assert code == 2 and "1088-134315.trans.txt line 1" in err and "--skip-absent-clips" in err
    code, _, err = cli(
        "import",
        "chapters",
        str(SPEECH / "wav"),
        "--transcripts",
        str(SPEECH / "trans"),
        "--skip-absent-clips",
        *w,
    )
    assert code == 0, err
    chapters = ws.dataset("chapters").to_pandas().set_index("item_id")["transcript"]
    assert chapters.to_dict() == frame.set_index("item_id")["transcript"].to_dict()


def test_diff_and_review_relabel_at_word_level(cli, ws: Workspace, clips: Path) -> None:
    w = ["-w", ws.location]
    assert (
        cli("import", "sp", str(clips), "--transcripts", str(clips / "transcripts.csv"), *w)[0] == 0
    )
    frame = ws.dataset("sp").to_pandas()
    first = frame["item_id"].iloc[1]
    given = frame["transcript"].iloc[1]
    ws.review.add(
        "sp",
        pd.DataFrame(
            {
                "item_id": [first],
                "reason": ["recogniser disagrees"],
                "score": [0.01],
                "given_label": [given],
                "suggested_label": [given.replace("LITTLE", "LITTLE OLD")],
            }
        ),
        source="label_issue",
    )
    code, out, _ = cli("review", "list", "--json", *w)
    entry = json.loads(out)[0] if isinstance(json.loads(out), list) else json.loads(out)["items"][0]
    new = given.replace("WORK WAS", "WORK IS")
    code, _, err = cli("review", "decide", str(entry["id"]), "--relabel", "   ", *w)
    assert code == 2 and "transcript is empty" in err
    code, _, err = cli("review", "decide", str(entry["id"]), "--relabel", new, *w)
    assert code == 0, err
    code, out, err = cli("review", "apply", "sp", *w)
    assert code == 0, err
    code, out, _ = cli("diff", "sp@v1", "sp@v2", "--json", *w)
    result = json.loads(out)
    assert result["counts"]["relabeled"] == 1
    assert result["label_changes"] == ["'WAS' -> 'IS'"]
    code, out, _ = cli("diff", "sp@v1", "sp@v2", *w)
    assert "'WAS' -> 'IS'" in out


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("19-198-0000.wav,NORTHANGER ABBEY\n19-198-0001.wav,   \n", "line 3: the transcript of"),
        (
            "19-198-0000.wav,NORTHANGER ABBEY\n19-198-0001.wav,A\nnope.wav,B\n",
            "line 4: the transcript names clip 'nope.wav'",
        ),
        ("19-198-0000.wav,NORTHANGER ABBEY\n", "clip '19-198-0001.wav' under"),
        (
            "19-198-0000.wav,NORTHANGER ABBEY\n19-198-0001.wav,A\n19-198-0001.wav,B\n",
            "line 4: clip '19-198-0001.wav' already has a transcript",
        ),
    ],
)
def test_bad_transcripts_are_one_line_and_write_nothing(
    cli, ws: Workspace, tmp_path: Path, rows: str, message: str
) -> None:
    folder = tmp_path / "two"
    folder.mkdir()
    for name in ("19-198-0000.wav", "19-198-0001.wav"):
        shutil.copy(SPEECH / "wav" / name, folder / name)
    (tmp_path / "t.csv").write_text("file,transcript\n" + rows)
    code, _, err = cli(
        "import", "bad", str(folder), "--transcripts", str(tmp_path / "t.csv"), "-w", ws.location
    )
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert "bad" not in [d.name for d in ws.datasets()]


def test_non_utf8_text_and_undecodable_audio_are_refused(cli, ws: Workspace, clips: Path) -> None:
    w = ["-w", ws.location]
    text = (clips / "transcripts.csv").read_bytes().replace(b"ABBEY", b"ABB\xc9Y")
    (clips / "latin1.csv").write_bytes(text)
    code, _, err = cli("import", "bad", str(clips), "--transcripts", str(clips / "latin1.csv"), *w)
    assert code == 2 and "latin1.csv line 2: not UTF-8" in err
    (clips / "19-198-0000.wav").write_bytes(b"not audio at all")
    code, _, err = cli(
        "import", "bad", str(clips), "--transcripts", str(clips / "transcripts.csv"), *w
    )
    assert code == 2 and "cannot decode" in err and "19-198-0000.wav" in err
    assert "bad" not in [d.name for d in ws.datasets()]


def test_a_table_of_clip_paths_imports_with_task_transcript(
    cli, ws: Workspace, clips: Path
) -> None:
    table = pd.read_csv(clips / "transcripts.csv").rename(columns={"transcript": "words"})
    table.to_csv(clips / "table.csv", index=False)
    code, _, err = cli(
        "import",
        "t",
        str(clips / "table.csv"),
        "--task",
        "transcript",
        "--label",
        "words",
        "--tags",
        "speaker",
        "-w",
        ws.location,
    )
    assert code == 0, err
    version = ws.dataset("t")
    assert version.n_rows == 6 and version.roles.label == "transcript"
    assert version.roles.media == "path"


def test_python_import_of_a_transcript_source_needs_no_roles(ws: Workspace, clips: Path) -> None:
    from assay.store.transcript_import import TranscriptSource

    version = ws.import_dataset("py", TranscriptSource(clips / "transcripts.csv", clips))
    assert version.task_kind == "transcript" and version.roles.label == "transcript"
    assert version.n_rows == 6 and version.media_root == str(clips.resolve())

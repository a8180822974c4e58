"""Real read-speech clips for the speech CLI tests: the shortest mini-librispeech clips
copied to a folder, imported with their transcripts as a transcript dataset."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import pandas as pd


def frames(path: Path) -> int:
    with wave.open(str(path)) as clip:
        return clip.getnframes()


def clips(shared_data: Path, folder: Path, n: int) -> pd.DataFrame:
    """The ``n`` shortest clips copied to ``folder/clips`` and their true transcripts."""
    speech = shared_data / "speech" / "mini-librispeech"
    table = pd.read_csv(speech / "transcripts.csv")
    table["frames"] = [frames(speech / f) for f in table["file"]]
    table = table.sort_values(["frames", "file"]).head(n).reset_index(drop=True)
    (folder / "clips").mkdir(parents=True)
    for file in table["file"]:
        shutil.copy(speech / file, folder / "clips")
    table["file"] = table["file"].str.split("/").str[-1]
    table["item_id"] = table["file"].str.removesuffix(".wav")
    return table[["file", "item_id", "speaker", "transcript"]]


def workspace(cli, root: Path, table: pd.DataFrame, db_url: str | None = None) -> list[str]:
    table[["file", "speaker", "transcript"]].to_csv(root / "t.csv", index=False)
    assert cli("init", str(root / "ws"), *(["--db", db_url] if db_url else []))[0] == 0
    w = ["-w", str(root / "ws")]
    code, _, err = cli(
        "import", "sp", str(root / "clips"), "--transcripts", str(root / "t.csv"), *w
    )
    assert code == 0, err
    return w

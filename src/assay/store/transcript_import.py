"""Audio clips with their transcripts, as a dataset of the transcript task.

``assay import NAME DIR --transcripts FILE`` reads the clips under ``DIR`` and their
transcripts from ``FILE``:

* a CSV / TSV file with a clip column (``file``, ``path``, ``audio``, ``clip``,
  ``filename``, ``id``, ``utterance_id``) and a text column (``transcript``, ``text``,
  ``sentence``, ``label``, or the one ``--label`` names); other columns (a speaker, a
  condition) are kept; a file without a header row is read as ``file,transcript``;
* LibriSpeech ``*.trans.txt`` files (one ``<utterance-id> <TEXT>`` per line), a file or
  a folder of them, detected by name.

A clip column's value is found as a path relative to the transcript file, then to
``DIR``, then as a file name or name without extension under ``DIR``. ``assay import
NAME TABLE.csv --task transcript --label COL`` reads a table whose clip column names
audio files relative to the table (``DIR`` is the table's folder).

Every clip must have exactly one non-empty UTF-8 transcript, every transcript must name a
clip that exists, and every clip must decode as a WAV file; otherwise one line names the
file and line, and nothing is written. The dataset: ``item_id`` (the clip's name
without extension), ``path`` (relative to the media root), ``transcript``,
``duration`` (seconds) and the transcript file's other columns.
"""

from __future__ import annotations

import csv
import io
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from assay.exceptions import InputError

__all__ = ["TranscriptSource", "read_transcript_rows", "transcript_import_source"]

AUDIO_EXTENSIONS = (".wav",)
CLIP_COLUMNS = ("file", "path", "audio", "audio_path", "clip", "filename", "id", "utterance_id")
TEXT_COLUMNS = ("transcript", "text", "sentence", "label", "transcription")


@dataclass
class _Rows:
    """Transcript rows as read: clip reference, text, line, and extra columns."""

    refs: list[str]
    texts: list[str]
    lines: list[str]  # "FILE line N" per row
    extra: dict[str, list[str]] = field(default_factory=dict)


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path} line {line}: not UTF-8 text (byte {data[exc.start]:#04x}); "
            "save the transcripts as UTF-8."
        ) from None


def _trans_txt(paths: list[Path]) -> _Rows:
    rows = _Rows([], [], [])
    for path in paths:
        for number, line in enumerate(_decode(path).splitlines(), start=1):
            if not line.strip():
                continue
            ref, _, text = line.strip().partition(" ")
            rows.refs.append(ref)
            rows.texts.append(text)
            rows.lines.append(f"{path} line {number}")
    return rows


def _pick(
    header: list[str], wanted: tuple[str, ...], given: str | None, what: str, path: Path
) -> int:
    lowered = [h.strip().lower() for h in header]
    if given is not None:
        if given not in header:
            raise InputError(
                f"{path}: no column {given!r} (columns: {', '.join(header)}); check --label."
            )
        return header.index(given)
    for name in wanted:
        if name in lowered:
            return lowered.index(name)
    raise InputError(
        f"{path}: no {what} column among {', '.join(header)}; name it one of "
        f"{', '.join(wanted)}{' or give --label COL' if what == 'text' else ''}."
    )


def _csv_rows(path: Path, text_column: str | None) -> _Rows:
    text = _decode(path)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    records = [(reader.line_num, r) for r in reader if any(v.strip() for v in r)]
    if not records:
        raise InputError(f"{path} is empty; give one clip and transcript per line.")
    header = records[0][1]
    known = {h.strip().lower() for h in header} & set(CLIP_COLUMNS + TEXT_COLUMNS)
    if known or text_column is not None:
        body = records[1:]
        clip = _pick(header, CLIP_COLUMNS, None, "clip", path)
        col = _pick(header, TEXT_COLUMNS, text_column, "text", path)
    else:  # no header row: file,transcript
        body, clip, col, header = records, 0, 1, ["file", "transcript"]
    rows = _Rows([], [], [])
    others = [i for i in range(len(header)) if i not in (clip, col)]
    rows.extra = {header[i].strip(): [] for i in others}
    for number, record in body:
        if len(record) != len(header):
            raise InputError(
                f"{path} line {number}: {len(record)} values for {len(header)} "
                "columns; quote transcripts that hold the separator."
            )
        rows.refs.append(record[clip].strip())
        rows.texts.append(record[col])
        rows.lines.append(f"{path} line {number}")
        for i in others:
            rows.extra[header[i].strip()].append(record[i])
    return rows


def read_transcript_rows(path: Path, text_column: str | None = None) -> _Rows:
    """The rows of a transcript file or folder of ``*.trans.txt`` files (see the module
    docstring); a row is a clip reference, its text and where it was read."""
    if path.is_dir():
        files = sorted(path.rglob("*.trans.txt"))
        if not files:
            raise InputError(
                f"{path} holds no *.trans.txt files; give a CSV file "
                "(file,transcript) or a folder of LibriSpeech transcript files."
            )
        return _trans_txt(files)
    if not path.is_file():
        raise InputError(f"{path} does not exist; give the transcript file (CSV or .trans.txt).")
    if path.name.endswith(".trans.txt"):
        return _trans_txt([path])
    return _csv_rows(path, text_column)


def _audio_files(root: Path) -> dict[str, Path]:
    """Audio files under ``root`` by POSIX path relative to it (hidden ones skipped)."""
    found = {}
    for file in sorted(root.rglob("*")):
        rel = file.relative_to(root)
        if (
            file.suffix.lower() in AUDIO_EXTENSIONS
            and file.is_file()
            and not any(part.startswith(".") for part in rel.parts)
        ):
            found[rel.as_posix()] = file
    return found


class _Resolver:
    """Finds the clip a transcript row names (see the module docstring)."""

    def __init__(self, root: Path, base: Path, files: dict[str, Path]) -> None:
        self.root, self.base, self.files = root.resolve(), base.resolve(), files
        self.by_name: dict[str, list[str]] = {}
        for rel in files:
            for key in (Path(rel).name, Path(rel).stem):
                self.by_name.setdefault(key, []).append(rel)

    def __call__(self, ref: str) -> str | None:
        for base in (self.base, self.root):
            candidate = (base / ref).resolve()
            if candidate.is_relative_to(self.root):
                rel = candidate.relative_to(self.root).as_posix()
                if rel in self.files:
                    return rel
        matches = self.by_name.get(ref) or self.by_name.get(Path(ref).name) or []
        return matches[0] if len(set(matches)) == 1 else None


def _duration(file: Path, where: str) -> float:
    """Seconds of audio in a WAV file, read from its header (refused if undecodable)."""
    try:
        with wave.open(str(file), "rb") as w:
            frames, rate = w.getnframes(), w.getframerate()
    except (wave.Error, EOFError, OSError) as exc:
        from scipy.io import wavfile

        try:  # float or extensible WAV that the wave module does not read
            rate, data = wavfile.read(file, mmap=True)
            frames = len(data)
        except (ValueError, OSError):
            reason = str(exc) or "not a RIFF/WAVE file"
            raise InputError(
                f"{where}: cannot decode {file} as WAV audio ({reason}); convert it "
                "to 16-bit PCM WAV or remove it."
            ) from None
    if rate <= 0:
        raise InputError(f"{where}: {file} has no sample rate; re-encode it as WAV.")
    return frames / rate


def _match(
    rows: _Rows, resolve: _Resolver, files: dict[str, Path], skip_absent: bool, every_clip: bool
) -> tuple[list[int], list[str]]:
    """Rows kept and their clips; refuses absent clips, empty texts and duplicates."""
    kept: list[int] = []
    clips: list[str] = []
    seen: dict[str, str] = {}
    for position, (ref, text, where) in enumerate(
        zip(rows.refs, rows.texts, rows.lines, strict=True)
    ):
        rel = resolve(ref) if ref else None
        if rel is None:
            if skip_absent:
                continue
            raise InputError(
                f"{where}: the transcript names clip {ref!r}, which is not an audio "
                f"file under {resolve.root}; fix the name, add the clip, or pass "
                "--skip-absent-clips to leave such transcripts out."
            )
        if not " ".join(text.split()):
            raise InputError(
                f"{where}: the transcript of {ref!r} is empty; type it, or remove "
                "the line and the clip."
            )
        if rel in seen:
            raise InputError(
                f"{where}: clip {rel!r} already has a transcript ({seen[rel]}); "
                "keep one line per clip."
            )
        seen[rel] = where
        kept.append(position)
        clips.append(rel)
    missing = sorted(set(files) - set(clips)) if every_clip else []
    if missing:
        raise InputError(
            f"clip {missing[0]!r} under {resolve.root} has no transcript"
            f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}; add "
            "its line to the transcripts, or move the clip out of the folder."
        )
    return kept, clips


@dataclass
class TranscriptSource:
    """Clips and transcripts to import (``Workspace.import_dataset(name, src)``).

    Attributes
    ----------
    transcripts : path
        The transcript file (CSV / TSV with a clip and a text column, ``*.trans.txt``)
        or a folder of ``*.trans.txt`` files.
    clips : path, optional
        The folder of the audio clips (default: the transcript file's folder).
    text_column : str, optional
        The text column of a CSV (default: transcript, text, sentence or label).
    skip_absent : bool
        Leave out transcripts naming clips that are not under ``clips`` (a LibriSpeech
        chapter file lists more utterances than a subset holds) instead of refusing.
    """

    transcripts: Path
    clips: Path | None = None
    text_column: str | None = None
    skip_absent: bool = False
    skipped: int = 0

    def __str__(self) -> str:
        return str(self.transcripts)

    def read(self) -> tuple[pa.Table, dict[str, Any]]:
        """One row per clip and the reader's info (``media_root``, ``modality``...)."""
        from assay.store.readers import RowNames

        base = self.transcripts if self.transcripts.is_dir() else self.transcripts.parent
        root = Path(self.clips) if self.clips is not None else base
        if not root.is_dir():
            raise InputError(f"{root} is not a folder; give the folder of the audio clips.")
        files = _audio_files(root)
        if not files:
            raise InputError(
                f"{root} holds no audio clips ({', '.join(AUDIO_EXTENSIONS)}); "
                "give the folder of the clips."
            )
        rows = read_transcript_rows(self.transcripts, self.text_column)
        kept, clips = _match(
            rows,
            _Resolver(root, base, files),
            files,
            self.skip_absent,
            every_clip=self.clips is not None,
        )
        self.skipped = len(rows.refs) - len(kept)
        table = _clip_table(rows, kept, clips, files)
        info = {
            "format": "transcripts",
            "rows": RowNames("file", labels=clips),
            "media_root": str(root.resolve()),
            "media_column": "path",
            "modality": "audio",
            "label": "transcript",
            "task": "transcript",
        }
        return table, info


def _clip_table(rows: _Rows, kept: list[int], clips: list[str], files: dict[str, Path]) -> pa.Table:
    stems = [Path(c).with_suffix("").as_posix() for c in clips]
    names = [Path(c).stem for c in clips]
    ids = names if len(set(names)) == len(names) else stems
    durations = [_duration(files[c], rows.lines[k]) for c, k in zip(clips, kept, strict=True)]
    columns: dict[str, Any] = {
        "item_id": pa.array(ids, pa.string()),
        "path": pa.array(clips, pa.string()),
        "transcript": pa.array([" ".join(rows.texts[k].split()) for k in kept], pa.string()),
        "duration": pa.array(np.round(durations, 4), pa.float64()),
    }
    for name, values in rows.extra.items():
        if name not in columns:
            columns[name] = pa.array([values[k] for k in kept], pa.string())
    return pa.table(columns)


def transcript_import_source(
    source: Path | None,
    transcripts: Path | None,
    task: str | None,
    label: str | None,
    skip_absent: bool,
) -> TranscriptSource | None:
    """What ``assay import`` imports for transcripts: ``DIR --transcripts FILE``, or a
    table of clips ``TABLE --task transcript`` whose clip column names audio files; None
    for anything else (the other import paths)."""
    if transcripts is None:
        if skip_absent:
            raise InputError(
                "--skip-absent-clips: only with --transcripts FILE; add it or leave the flag out."
            )
        if (
            task != "transcript"
            or source is None
            or not Path(source).is_file()
            or Path(source).suffix.lower() not in (".csv", ".tsv")
        ):
            return None
        return TranscriptSource(Path(source), None, label)
    if task not in (None, "transcript"):
        raise InputError(f"--transcripts imports transcript labels; leave out --task {task}.")
    if source is None:
        raise InputError("--transcripts FILE needs SOURCE: the folder of the audio clips.")
    return TranscriptSource(Path(transcripts), Path(source), label, skip_absent)

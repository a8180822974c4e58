"""Hostile input never costs a version, a decision or the server (issue 12).

Each case used to exit 3 (an internal error) or did something it must not; now it is one
line, exit 2 (or a warning and a clean import), and nothing is written.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.exceptions import InputError
from assay.store.workspace import Workspace


def _garbage(path: Path, seed: int = 0, size: int = 4000) -> Path:
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, size, np.uint8).tobytes())
    return path


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "id": range(60),
            "f": rng.normal(size=60),
            "g": rng.normal(size=60),
            "ink": rng.choice(["light", "dark"], 60),
            "label": rng.integers(0, 3, 60),
        }
    )
    frame.to_csv(tmp_path / "t.csv", index=False)
    ws.import_dataset("t", tmp_path / "t.csv", label="label", id="id", tags=["ink"])
    return ws


def _one_line(err: str) -> None:
    assert "internal error" not in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


# -- 1. files that are not tables --------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".jsonl"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_bytes_are_not_a_table(cli, ws: Workspace, tmp_path: Path, suffix: str,
                                      seed: int) -> None:
    bad = _garbage(tmp_path / f"bad{suffix}", seed)
    code, _, err = cli("import", "x", str(bad), "-w", ws.location)
    assert code == 2, err
    _one_line(err)
    assert "bad" + suffix in err
    assert [d.name for d in ws.datasets()] == ["t"]
    code, _, err = cli("drift", str(tmp_path / "t.csv"), str(bad), "--report",
                       str(tmp_path / "d.html"))
    assert code == 2, err
    _one_line(err)
    assert not (tmp_path / "d.html").exists()


def test_binary_csv_message(cli, ws: Workspace, tmp_path: Path) -> None:
    bad = _garbage(tmp_path / "bad.csv")
    code, _, err = cli("import", "x", str(bad), "-w", ws.location)
    assert code == 2 and "is not a readable CSV (" in err and "binary" in err


# -- 2. duplicate column names ------------------------------------------------------------
def test_duplicate_header_is_refused(cli, ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "dup.csv").write_text("a,label,a\n1,0,3\n2,1,4\n")
    code, _, err = cli("import", "d", str(tmp_path / "dup.csv"), "-w", ws.location)
    assert code == 2, err
    _one_line(err)
    assert "'a'" in err and "line 1" in err and "columns 1 and 3" in err
    for args in (("dup.csv", "t.csv"), ("t.csv", "dup.csv")):
        code, _, err = cli("drift", *(str(tmp_path / a) for a in args), "--report",
                           str(tmp_path / "d.html"))
        assert code == 2 and "'a'" in err, err
    assert [d.name for d in ws.datasets()] == ["t"]


def test_duplicate_dataframe_columns_are_refused(ws: Workspace) -> None:
    frame = pd.DataFrame([[1, 0, 3], [2, 1, 4]], columns=["a", "label", "a"])
    with pytest.raises(InputError, match=r"column name 'a' .*positions 0 and 2"):
        ws.import_dataset("d", frame)
    import pyarrow as pa

    table = pa.table([[1, 2], [0, 1], [3, 4]], names=["a", "label", "a"])
    with pytest.raises(InputError, match="column name 'a'"):
        ws.import_dataset("d", table)
    assert [d.name for d in ws.datasets()] == ["t"]


# -- 3. byte-order marks ------------------------------------------------------------------
BOOK = "classes:\n  '0': {description: zéro}\n  '1': one\n  '2': two\n"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
def test_labelbook_with_a_bom_is_read(cli, ws: Workspace, tmp_path: Path,
                                      encoding: str) -> None:
    data = BOOK.encode(encoding)
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    (tmp_path / "book.yaml").write_bytes(data)
    code, out, err = cli("labelbook", "edit", "t", "--file", str(tmp_path / "book.yaml"),
                         "-w", ws.location)
    assert code == 0, err
    assert ws.labelbook.get("t").classes["0"]["description"] == "zéro"


def test_labelbook_not_text_is_refused(cli, ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "book.yaml").write_bytes("classes: {'0': zéro}".encode("latin-1"))
    code, _, err = cli("labelbook", "edit", "t", "--file", str(tmp_path / "book.yaml"),
                       "-w", ws.location)
    assert code == 2 and "book.yaml is not UTF-8 text" in err, err
    _one_line(err)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl"])
def test_tables_with_a_bom_are_read(ws: Workspace, tmp_path: Path, encoding: str,
                                    suffix: str) -> None:
    frame = pd.DataFrame({"name": ["zoé", "ünï", "x"], "label": [0, 1, 0]})
    if suffix == ".jsonl":
        text = frame.to_json(orient="records", lines=True, force_ascii=False)
    else:
        text = frame.to_csv(index=False, sep="\t" if suffix == ".tsv" else ",")
    path = tmp_path / f"bom{suffix}"
    path.write_bytes(text.encode(encoding))
    version = ws.import_dataset("b", path)
    got = version.to_pandas()
    assert list(got["name"]) == list(frame["name"]) and list(got.columns[1:]) == ["name", "label"]


def test_utf16_csv_names_its_lines(ws: Workspace, tmp_path: Path) -> None:
    # a missing label is an item awaiting one (issue 16); a row with an extra field is wrong
    (tmp_path / "u.csv").write_bytes("name,label\na,0\nb,1,2\nc,1\n".encode("utf-16"))
    with pytest.raises(InputError, match="line 3"):
        ws.import_dataset("u", tmp_path / "u.csv")


# -- 4. augment --factor --------------------------------------------------------------------
@pytest.mark.parametrize("factor", ["nan", "inf", "-inf", "-1", "0", "1e9"])
def test_bad_factor_is_refused_before_any_work(cli, ws: Workspace, factor: str) -> None:
    code, _, err = cli("augment", "t", "--slice", "ink == 'light'", f"--factor={factor}",
                       "-w", ws.location)
    assert code == 2, err
    _one_line(err)
    assert "--factor must be a number in (0, 100]" in err
    assert [v.ref for v in ws.log("t")] == ["t@v1"]


def test_library_factor_must_be_finite(ws: Workspace) -> None:
    from assay.train.augment import augment

    frame = ws.dataset("t").to_pandas()
    for factor in (float("nan"), float("inf"), -1.0, 0.0):
        with pytest.raises(InputError, match="factor"):
            augment(frame, modality="tabular", label="label", factor=factor)


# -- 5. agreement over too many classes ----------------------------------------------------
def test_agree_with_free_text_labels_is_refused_early(cli, tmp_path: Path) -> None:
    n = 30_000  # 60,000 distinct labels: a 60k x 60k matrix needs ~29 GB
    frame = pd.DataFrame(
        {
            "item": np.tile(np.arange(n), 2),
            "annotator": np.repeat(["ann", "bob"], n),
            "label": [f"a{i}" for i in range(n)] + [f"b{i}" for i in range(n)],
        }
    )
    frame.to_csv(tmp_path / "free.csv", index=False)
    code, _, err = cli("agree", str(tmp_path / "free.csv"), "--report", str(tmp_path / "a.html"))
    assert code == 2, err
    _one_line(err)
    assert "60000 classes" in err and "--text" in err and "GiB" in err
    assert not (tmp_path / "a.html").exists()


# -- 6. the slice language never evaluates code -------------------------------------------
@pytest.mark.parametrize(
    ("predicate", "named"),
    [
        ("@frame.to_csv('pwned.csv')", "@frame"),
        ("ink.to_csv('pwned.csv') == 1", "ink.to_csv('pwned.csv')"),
        ("__import__('os').system('touch pwned.csv')", "__import__"),
        ("ink == 'light' and open('pwned.csv', 'w')", "open('pwned.csv', 'w')"),
        ("f + g > 1", "f + g"),
        ("colour == 'red'", "colour"),
    ],
)
def test_slice_cannot_run_code(cli, ws: Workspace, tmp_path: Path, monkeypatch,
                               predicate: str, named: str) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("augment", "t", "--slice", predicate, "-w", ws.location)
    assert code == 2, err
    _one_line(err)
    assert named in err
    assert not (tmp_path / "pwned.csv").exists()
    assert [v.ref for v in ws.log("t")] == ["t@v1"]


def test_slice_language_still_selects(cli, ws: Workspace) -> None:
    code, out, err = cli("augment", "t", "--slice", "(ink == 'light' or f > 1) and not g < -2",
                         "--factor", "1", "-w", ws.location)
    assert code == 0, err
    frame = ws.dataset("t@v1").to_pandas()
    expected = int((((frame.ink == "light") | (frame.f > 1)) & ~(frame.g < -2)).sum())
    assert f"from {expected} items" in out


# -- 7. folders: symlinks out of the imported root ------------------------------------------
def _sound_folder(root: Path) -> None:
    import soundfile as sf

    rng = np.random.default_rng(0)
    for label in ("0", "1"):
        (root / label).mkdir(parents=True)
        for i in range(2):
            sf.write(root / label / f"{i}.wav", rng.normal(size=800) * 0.1, 8000)


def test_folder_import_skips_symlinks_out_of_the_root(cli, tmp_path: Path) -> None:
    root = tmp_path / "texts"
    for label in ("pos", "neg"):
        (root / label).mkdir(parents=True)
        (root / label / "a.txt").write_text(f"a {label} text")
    (tmp_path / "secret.txt").write_text("top secret")
    (root / "pos" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "b.txt").write_text("also secret")
    (root / "neg" / "sub").symlink_to(outside, target_is_directory=True)
    (root / "pos" / "inside.txt").symlink_to(root / "neg" / "a.txt")  # stays inside: kept
    w = ["-w", str(tmp_path / "ws")]
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    code, out, err = cli("import", "texts", str(root), *w)
    assert code == 0, err
    assert "pos/leak.txt" in err and "outside" in err  # a linked folder is not followed
    frame = Workspace(tmp_path / "ws").dataset("texts").to_pandas()
    assert sorted(frame["path"]) == ["neg/a.txt", "pos/a.txt", "pos/inside.txt"]
    assert not frame["text"].str.contains("secret").any()


def test_audio_through_a_symlinked_root_is_served(sqlite_workspace: Workspace,
                                                  tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from assay.store.users import add_user
    from assay.web import create_app

    _sound_folder(tmp_path / "real")
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    version = sqlite_workspace.import_dataset("s", tmp_path / "link")
    assert version.media_root == str((tmp_path / "real").resolve())
    add_user(sqlite_workspace, "vic", role="viewer", password="correct horse battery")
    with TestClient(create_app(sqlite_workspace, secret_key="s" * 32)) as client:
        page = client.get("/login").text
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/login", data={"username": "vic", "password": "correct horse battery",
                                    "csrf_token": token, "next": "/"})
        item = client.get("/datasets/s/items/0%2F1.wav")
        assert item.status_code == 200 and 'src="/media/s/0/1.wav"' in item.text
        media = client.get("/media/s/0/1.wav")
        assert media.status_code == 200 and media.content[:4] == b"RIFF"


# -- 8. inf and NaN feature values ----------------------------------------------------------
def test_inf_is_refused_at_import(cli, ws: Workspace, tmp_path: Path) -> None:
    frame = pd.read_csv(tmp_path / "t.csv")
    frame.loc[4, "g"] = np.inf
    frame.to_csv(tmp_path / "inf.csv", index=False)
    code, _, err = cli("import", "i", str(tmp_path / "inf.csv"), "--id", "id", "-w", ws.location)
    assert code == 2, err
    _one_line(err)
    assert "'g'" in err and "line 6" in err and "inf" in err
    frame.loc[4, "g"] = -np.inf
    with pytest.raises(InputError, match=r"column 'g' .*index 4"):
        ws.import_dataset("i", frame, id="id")
    assert [d.name for d in ws.datasets()] == ["t"]


def test_nan_features_import_and_the_audit_says_what_to_do(cli, ws: Workspace,
                                                          tmp_path: Path) -> None:
    frame = pd.read_csv(tmp_path / "t.csv")
    frame.loc[4, "g"] = np.nan
    frame.to_csv(tmp_path / "nan.csv", index=False)
    code, _, err = cli("import", "n", str(tmp_path / "nan.csv"), "--id", "id", "-w", ws.location)
    assert code == 0, err
    assert np.isnan(ws.dataset("n").to_pandas()["g"].iloc[4])


# -- 9. deeply nested JSON Lines ------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
@pytest.mark.parametrize("open_close", [("[", "]"), ('{"b": ', "}")])
def test_deeply_nested_jsonl_is_refused_not_a_segfault(
    ws: Workspace, tmp_path: Path, encoding: str, open_close: tuple[str, str]
) -> None:
    """pyarrow's JSON reader crashed the process (SIGSEGV) on 100,000 nested levels; the
    import runs in a subprocess so that a crash fails only this test."""
    import subprocess
    import sys

    opening, closing = open_close
    deep = f'{{"a": {opening * 100_000}1{closing * 100_000}, "label": 1}}\n'
    (tmp_path / "deep.jsonl").write_bytes(deep.encode(encoding))
    done = subprocess.run(
        [sys.executable, "-c", "from assay.cli.main import _entry; _entry()", "import",
         "deep", str(tmp_path / "deep.jsonl"), "-w", ws.location],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 2, (done.returncode, done.stderr[-500:])
    _one_line(done.stderr)
    assert "deep.jsonl line 1 " in done.stderr and "64 levels" in done.stderr
    assert [d.name for d in ws.datasets()] == ["t"]


@pytest.mark.parametrize(
    ("text", "line", "fields"),
    [
        ('a,b,label\n1,2,x\n3,"multi\nline",y\n4,5\n6,7,z\n', 5, 2),  # after a quoted break
        ("a,b,label\n1,2,x\n3,4,y,extra\n", 3, 4),
    ],
)
def test_a_row_with_another_field_count_is_named_by_its_line(
    cli, ws: Workspace, tmp_path: Path, text: str, line: int, fields: int
) -> None:
    (tmp_path / "ragged.csv").write_text(text)
    code, _, err = cli("import", "r", str(tmp_path / "ragged.csv"), "-w", ws.location)
    assert code == 2, err
    _one_line(err)
    assert f"ragged.csv cannot be read as CSV: line {line} has {fields} fields where the " \
        "header has 3" in err
    assert [d.name for d in ws.datasets()] == ["t"]

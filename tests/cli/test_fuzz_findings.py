"""Findings of the CLI fuzz (tests/cli/test_fuzz_cli.py), each pinned by a direct test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.store.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    frame = pd.DataFrame({"x": np.arange(20.0), "label": ["cat", "dog"] * 10})
    ws.import_dataset("pets", frame, label="label")
    return ws


@pytest.mark.parametrize("name", ["bad.parquet", "bad.pq", "bad.csv", "bad.tsv"])
@pytest.mark.parametrize("seed", [0, 1])
def test_annotations_import_refuses_a_file_that_is_not_a_table(
    cli, ws: Workspace, tmp_path: Path, name: str, seed: int
) -> None:
    """Random bytes used to exit 3 (ArrowInvalid from pd.read_parquet)."""
    bad = tmp_path / name
    bad.write_bytes(np.random.default_rng(seed).integers(0, 256, 3000, np.uint8).tobytes())
    code, _, err = cli("annotations", "import", "pets", str(bad), "-w", ws.location)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and name in err, err
    assert "internal error" not in err
    assert len(ws.annotations.load("pets")) == 0


def test_demo_leaves_a_workspace_it_did_not_make_alone(cli, ws: Workspace, tmp_path: Path) -> None:
    """``assay demo PATH`` on a real workspace used to delete the whole folder
    (``shutil.rmtree(PATH)`` whenever ``PATH/.assay`` existed): data files and all."""
    mine = Path(ws.location) / "my-data.csv"
    mine.write_text("x,label\n1,cat\n")
    code, _, err = cli("demo", ws.location)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "assay demo" in err, err
    assert mine.exists() and [d.name for d in ws.datasets()] == ["pets"]


def test_demo_refuses_a_path_whose_name_is_too_long(cli, tmp_path: Path) -> None:
    """A 300-character folder name used to exit 3 (OSError: File name too long)."""
    code, _, err = cli("demo", str(tmp_path / ("n" * 300)))
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "too long" in err.lower(), err


@pytest.mark.parametrize("source", ["%s%n{0}", "a: [1,\n  b: 2\n: :"])
def test_recipe_add_names_a_yaml_syntax_error_in_one_line(cli, ws: Workspace,
                                                         tmp_path: Path, source: str) -> None:
    """PyYAML's error text spans several lines (context, snippet, caret); it used to be
    printed as it is."""
    file = tmp_path / "r.yaml"
    file.write_text(source)
    for given in (source, str(file)):
        code, _, err = cli("recipe", "add", "x", given, "-w", ws.location)
        assert code == 2, err
        assert len(err.strip().splitlines()) == 1, err
        assert "line " in err and "column " in err, err

"""Opt-in: the Label Studio round trip against a real server.

Skipped unless ``ASSAY_LABEL_STUDIO_URL`` and ``ASSAY_LABEL_STUDIO_TOKEN`` name a
running Label Studio (sign-up open) and an account's token (legacy or personal access
token); benchmarks/label_studio_roundtrip.py says how to start one. Set
``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT`` as the server has it to check image URLs too.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

URL = os.environ.get("ASSAY_LABEL_STUDIO_URL")
TOKEN = os.environ.get("ASSAY_LABEL_STUDIO_TOKEN")
BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks/label_studio_roundtrip.py"
SENTENCES = Path(__file__).resolve().parents[3] / "shared/data/text/amazon_cells_labelled.txt"

pytestmark = pytest.mark.skipif(
    not (URL and TOKEN), reason="set ASSAY_LABEL_STUDIO_URL and ASSAY_LABEL_STUDIO_TOKEN "
    "to run against a real Label Studio server"
)


def test_round_trip_through_a_real_label_studio() -> None:
    if not SENTENCES.is_file():
        pytest.skip(f"{SENTENCES} is absent (shared data)")
    spec = importlib.util.spec_from_file_location("label_studio_roundtrip", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert URL and TOKEN
    outcome = module.roundtrip(URL, TOKEN, n=12, images=2)
    assert outcome["ok"], module.report(outcome)
    for row in outcome["rows"]:
        assert row["annotations"] == outcome["posted"] == 24 and row["items"] == 12
        assert row["alpha"] == outcome["alpha"] and row["rows equal"]

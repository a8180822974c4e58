"""Page-Hinkley and ADWIN: equal to river's detectors, batch-wise, persisted."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assay.deploy import ADWIN, PageHinkley, adwin, page_hinkley
from assay.exceptions import InputError


def _stream(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.r_[rng.random(6_000) < 0.1, rng.random(6_000) < 0.35, rng.random(6_000) < 0.05,
                 rng.normal(2, 1, 3_000)].astype(float)


def _river(detector, values: np.ndarray) -> list[int]:
    out = []
    for i, v in enumerate(values):
        detector.update(float(v))
        if detector.drift_detected:
            out.append(i)
    return out


@pytest.mark.parametrize("mode", ["both", "up", "down"])
def test_page_hinkley_equals_river(mode: str) -> None:
    drift = pytest.importorskip("river.drift")
    x = _stream(1)
    params = {"threshold": 20.0, "mode": mode}
    assert page_hinkley(x, **params).indices.tolist() == _river(drift.PageHinkley(**params), x)


@pytest.mark.parametrize("seed", [0, 2])
def test_adwin_equals_river(seed: int) -> None:
    drift = pytest.importorskip("river.drift")
    x = _stream(seed)
    ours = adwin(x).indices.tolist()
    theirs = _river(drift.ADWIN(), x)
    assert len(ours) == len(theirs) and len(ours) >= 3
    # same checks every 32 values; cut points may differ by a bucket: within two clocks
    assert np.abs(np.array(ours) - np.array(theirs)).max() <= 64


def test_detection_is_near_the_change_and_quiet_without_one() -> None:
    rng = np.random.default_rng(4)
    steady = (rng.random(20_000) < 0.2).astype(float)
    assert len(adwin(steady)) == 0
    changed = np.r_[steady[:10_000], (rng.random(10_000) < 0.5)].astype(float)
    for alarms in (adwin(changed), page_hinkley(changed)):
        after = alarms.indices[alarms.indices >= 10_000]
        assert after[0] < 10_600


@pytest.mark.parametrize("cls", [ADWIN, PageHinkley])
def test_batches_and_persistence_equal_one_pass(cls) -> None:
    x = _stream(3)
    whole = cls().update(x).indices.tolist()
    det = cls()
    found = []
    for i, chunk in enumerate(np.array_split(x, 9)):
        found += det.update(chunk).indices.tolist()
        if i % 2:
            det = cls.from_dict(json.loads(json.dumps(det.to_dict())))
    assert found == whole


def test_timestamps_and_frame() -> None:
    x = _stream()
    stamps = np.arange(len(x)).astype("datetime64[m]")
    alarms = adwin(x, timestamps=stamps)
    frame = alarms.to_frame()
    assert list(frame.columns) == ["index", "timestamp"]
    assert (frame["timestamp"].to_numpy() == stamps[alarms.indices]).all()


def test_bad_input() -> None:
    with pytest.raises(InputError, match="value 2 of the stream is NaN"):
        adwin([0.0, 1.0, np.nan])
    with pytest.raises(InputError, match="'mode' parameter of PageHinkley"):
        page_hinkley([0.0, 1.0], mode="sideways")
    with pytest.raises(InputError, match="one timestamp per value"):
        page_hinkley(np.zeros(5), timestamps=np.arange(3))
    assert len(adwin([])) == 0

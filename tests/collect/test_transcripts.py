"""Free-text agreement: Levenshtein, WER, alpha with edit distance, conventions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assay._levenshtein import batch_levenshtein, encode_sequences
from assay.collect import (
    convention_report,
    edit_distance,
    normalize_text,
    transcript_agreement,
    word_error_rate,
)
from assay.exceptions import InputError

SEED_EXAMPLE = ["Um, today's weather", "Um today's weather", "Today's weather"]


def _dp(a: str, b: str) -> int:
    """Textbook O(len(a) * len(b)) dynamic programme."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def test_batch_levenshtein_matches_dynamic_programme() -> None:
    rng = np.random.default_rng(0)
    alphabet = list("abcd é")
    a = ["".join(rng.choice(alphabet, rng.integers(0, 12))) for _ in range(300)]
    b = ["".join(rng.choice(alphabet, rng.integers(0, 12))) for _ in range(300)]
    got = batch_levenshtein(encode_sequences(a, "char"), encode_sequences(b, "char"))
    assert got.tolist() == [_dp(x, y) for x, y in zip(a, b, strict=True)]


def test_known_distances() -> None:
    assert edit_distance("kitten", "sitting") == pytest.approx(3 / 7)
    assert edit_distance("", "") == 0.0
    assert word_error_rate("the cat sat on the mat", "the cat sat on mat") == pytest.approx(1 / 6)
    assert word_error_rate("a b", "x a b y") == pytest.approx(1.0)


def test_rapidfuzz_agrees_when_installed() -> None:
    rf = pytest.importorskip("rapidfuzz.distance")
    for a, b in [("flaw", "lawn"), ("intention", "execution"), (SEED_EXAMPLE[0], SEED_EXAMPLE[2])]:
        assert edit_distance(a, b) == pytest.approx(rf.Levenshtein.normalized_distance(a, b))


def _texts() -> pd.DataFrame:
    rows = []
    for i, texts in enumerate([SEED_EXAMPLE, ["hello world", "hello, world", "hello world"],
                               ["good morning", "good morning", "good evening"],
                               ["yes", "yes", "no"], ["one two three", "one two", "one two"]]):
        rows += [(i, ann, t) for ann, t in zip("abc", texts, strict=True)]
    rows.append((5, "a", "alone"))
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


def test_pairwise_tables() -> None:
    df = _texts()
    rep = transcript_agreement(df)
    pairs = rep.pairs
    ab = pairs[(pairs["annotator_a"] == "a") & (pairs["annotator_b"] == "b")].iloc[0].to_dict()
    shared = df[df["item"] < 5].pivot(index="item", columns="annotator", values="label")
    assert ab["n_items"] == 5
    assert ab["exact_match"] == pytest.approx((shared["a"] == shared["b"]).mean())
    assert ab["edit_distance"] == pytest.approx(
        np.mean([edit_distance(x, y) for x, y in zip(shared["a"], shared["b"], strict=True)]))
    errs = sum(word_error_rate(x, y) * len(x.split())
               for x, y in zip(shared["a"], shared["b"], strict=True))
    assert ab["wer"] == pytest.approx(errs / sum(len(x.split()) for x in shared["a"]))
    assert rep.items.index[0] == 3  # yes/yes/no is the most different


def test_alpha_matches_krippendorff_with_edit_distance_metric() -> None:
    kd = pytest.importorskip("krippendorff")
    df = _texts()
    rep = transcript_agreement(df)
    values = sorted(df["label"].unique())
    code = {v: i for i, v in enumerate(values)}
    wide = df.pivot(index="item", columns="annotator", values="label")
    data = wide.T.map(lambda v: code[v] if isinstance(v, str) else np.nan).to_numpy(float)

    def metric(v1, v2, i1, i2, n_v, dtype=np.float64):  # noqa: ANN001
        flat = [edit_distance(values[int(x)], values[int(y)])
                for x, y in zip(np.ravel(v1 + 0 * v2), np.ravel(v2 + 0 * v1), strict=True)]
        return np.asarray(flat, dtype=dtype).reshape(np.broadcast(v1, v2).shape)

    ref = kd.alpha(reliability_data=data, value_domain=np.arange(len(values)),
                   level_of_measurement=metric)
    assert rep.expected_exact
    assert rep.krippendorff_alpha == pytest.approx(ref, abs=1e-9)


def test_monte_carlo_expected_disagreement_is_close() -> None:
    rng = np.random.default_rng(3)
    base = ["".join(rng.choice(list("abcdef"), 8)) for _ in range(60)]
    rows = []
    for i in range(120):
        src = base[i % 60]
        for ann in "xyz":
            txt = src if rng.random() < 0.6 else src[:-2] + "".join(rng.choice(list("ab"), 2))
            rows.append((i, ann, txt))
    df = pd.DataFrame(rows, columns=["item", "annotator", "label"])
    exact = transcript_agreement(df)
    approx = transcript_agreement(df, max_value_pairs=3000, seed=0)
    assert exact.expected_exact and not approx.expected_exact
    assert approx.krippendorff_alpha == pytest.approx(exact.krippendorff_alpha, abs=0.02)


def test_convention_report_on_seed_example() -> None:
    df = pd.DataFrame({"item": [1, 1, 1], "annotator": list("abc"), "label": SEED_EXAMPLE})
    rep = convention_report(df)
    assert rep.n_pairs == 3 and len(rep.pairs) == 3
    by = dict(zip(zip(rep.pairs["annotator_a"], rep.pairs["annotator_b"], strict=True),
                  rep.pairs["resolved_by"], strict=True))
    assert by[("a", "b")] == "fillers or punctuation"
    assert by[("b", "c")] == "fillers+case"
    assert by[("a", "c")] == "fillers+case"
    norm = rep.normalizations
    assert norm.loc["punctuation", "pairs_resolved_alone"] == 1
    assert norm.loc["case", "pairs_needing"] == 2
    assert norm.loc["fillers", "pairs_needing"] == 3
    assert norm.loc["all", "pairs_resolved_alone"] == 3
    examples = norm["examples"].to_dict()["punctuation"]
    assert "Um, today" in examples[0]
    assert "3 of 3" in rep.summary()


def test_normalize_text_steps() -> None:
    assert normalize_text("Well...  it's  OK, um, fine!") == "well it's ok fine"
    assert normalize_text("Wait\u2026 what", ["ellipses"]) == "Wait what"
    assert normalize_text("a  b\tc", ["whitespace"]) == "a b c"
    assert normalize_text("Uh huh", ["fillers"]) == "huh"


def test_transcript_summary() -> None:
    rep = transcript_agreement(_texts())
    text = rep.summary()
    assert "5 items" in text and f"{rep.krippendorff_alpha:.3f}" in text
    assert 0 < rep.wer < 1


def test_missing_text_is_reported_not_compared_as_nan() -> None:
    df = _texts()
    df.loc[2, "label"] = None
    with pytest.raises(InputError, match="'label' is missing in 1 row"):
        transcript_agreement(df)
    with pytest.raises(InputError, match="'label' is missing in 1 row"):
        convention_report(df)

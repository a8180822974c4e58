"""Transcript label issues: clips whose transcript disagrees with a recogniser far more
than the recogniser usually errs.

The recogniser's word edits against a correct transcript of ``n`` words are modelled as
a Poisson count whose rate per word varies from clip to clip as a gamma variable
(clips differ in difficulty), i.e. a negative binomial with mean ``r n`` and variance
``r n + (r n)^2 / a``. Wrong transcripts are a second component whose count is uniform
up to the longer of the two texts. Both are fitted by EM on the clips themselves
(weighted moments for ``r`` and ``1 / a``), so that the wrong transcripts do not inflate
the recogniser's usual error.

``label_quality`` is the mid-p upper tail ``P(E > e) + P(E = e) / 2`` of the clip's
edit count ``e``: lower = more suspicious, and it accounts for length (two edits in a
four-word clip are far less surprising than ten in a twenty-word clip, at the same WER).
``is_label_issue`` is the Benjamini-Hochberg selection of these tail probabilities at
false-discovery rate ``fdr``. Measured against ranking by WER alone in
``benchmarks/speech.py`` (results in ``benchmarks/results/speech.md``): on simulated
recogniser output the ranking is as good as the WER's (wrong-clip transcripts are all
found; one to three wrong words in a clip mostly hide in the recogniser's own errors),
and the flags hold their false-discovery rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from assay._validation import Interval, Real, name_rows, validate_params
from assay._wer import as_texts, error_counts
from assay.exceptions import InputError

__all__ = ["TranscriptFit", "find_transcript_issues"]

#: Upper bound of ``1 / a`` (a very overdispersed recogniser).
_MAX_DISPERSION = 10.0
_ITERATIONS = 100


@dataclass(frozen=True)
class TranscriptFit:
    """The recogniser's usual error, as fitted (also in the table's ``attrs["fit"]``).

    Attributes
    ----------
    rate : float
        Word edits per transcript word of the recogniser on correct transcripts.
    dispersion : float
        ``1 / a``: 0 is a Poisson count (every clip equally hard).
    wrong_share : float
        The contamination component's estimated share of clips (wrong transcripts).
    """

    rate: float
    dispersion: float
    wrong_share: float


def _tail(e: np.ndarray, mu: np.ndarray, dispersion: float) -> np.ndarray:
    """Mid-p upper tail ``P(E > e) + P(E = e) / 2`` of the fitted count model."""
    if dispersion <= 0:
        dist = stats.poisson(mu)
    else:
        size = 1.0 / dispersion
        dist = stats.nbinom(size, size / (size + mu))
    return np.asarray(dist.sf(e) + 0.5 * dist.pmf(e), dtype=np.float64)


def _moments(e: np.ndarray, n: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Rate and dispersion by weighted moments: ``Var(e) = mu + mu^2 dispersion``."""
    rate = float(np.sum(w * e) / max(np.sum(w * n), 1e-12))
    mu = rate * n
    denom = float(np.sum(w * mu**2))
    disp = float(np.sum(w * ((e - mu) ** 2 - mu)) / denom) if denom > 0 else 0.0
    return max(rate, 1e-6), float(np.clip(disp, 0.0, _MAX_DISPERSION))


def _pmf(e: np.ndarray, mu: np.ndarray, dispersion: float) -> np.ndarray:
    if dispersion <= 0:
        return np.asarray(stats.poisson.pmf(e, mu), dtype=np.float64)
    size = 1.0 / dispersion
    return np.asarray(stats.nbinom.pmf(e, size, size / (size + mu)), dtype=np.float64)


def fit_recogniser(
    e: np.ndarray, n: np.ndarray, m: np.ndarray
) -> tuple[TranscriptFit, np.ndarray, np.ndarray]:
    """Fit the count model with a contamination component by EM.

    Parameters
    ----------
    e, n, m : int arrays of shape (n_clips,)
        Word edits, transcript words and hypothesis words of every clip.

    Returns
    -------
    fit : TranscriptFit
    tail : ndarray of shape (n_clips,)
        Mid-p upper tail of every clip's count under the recogniser's model.
    wrong : ndarray of shape (n_clips,)
        Posterior probability that the clip's count comes from the contamination.
    """
    # a wrong transcript: any count up to the longer text is as likely
    uniform = 1.0 / (np.maximum(n, m) + 1.0)
    w, share = np.ones(len(e)), 0.05
    for _ in range(_ITERATIONS):
        rate, disp = _moments(e, n, w)
        core = (1 - share) * _pmf(e, rate * n, disp)
        w_new = core / np.maximum(core + share * uniform, 1e-300)
        share = float(np.clip(1 - w_new.mean(), 1e-4, 0.5))
        if np.abs(w_new - w).max() < 1e-6:
            break
        w = w_new
    fit = TranscriptFit(rate, disp, float(share))
    return fit, _tail(e, rate * n, disp), 1 - w_new
def _bh(p: np.ndarray, fdr: float) -> np.ndarray:
    """Benjamini-Hochberg: which of the p-values are selected at ``fdr``."""
    order = np.argsort(p, kind="stable")
    passed = p[order] <= fdr * np.arange(1, len(p) + 1) / len(p)
    out = np.zeros(len(p), dtype=bool)
    if passed.any():
        out[order[: int(np.flatnonzero(passed).max()) + 1]] = True
    return out


def _aligned(transcripts: Any, hypotheses: Any) -> tuple[pd.Series, pd.Series]:
    """Both inputs as Series of str on the transcripts' index (checked)."""
    for what, s in (("transcripts", transcripts), ("hypotheses", hypotheses)):
        if not isinstance(s, pd.Series):
            raise InputError(f"{what} must be a pandas Series indexed by clip, got "
                             f"{type(s).__name__}; build one with pd.Series(texts, index=clips).")
        if s.index.has_duplicates:
            dup = np.flatnonzero(s.index.duplicated())
            raise InputError(f"{what} names a clip twice ({name_rows(dup, s.index)}); "
                             f"give one transcript per clip.")
    missing = ~transcripts.index.isin(hypotheses.index)
    if missing.any():
        raise InputError(f"hypotheses have no text for {name_rows(np.flatnonzero(missing), transcripts.index)}"
                         f" of transcripts; give the recogniser's output for every clip "
                         f"(an empty str if it heard nothing).")
    hyp = hypotheses.reindex(transcripts.index)
    as_texts(transcripts, "transcripts")
    as_texts(hyp, "hypotheses")
    empty = np.flatnonzero([not t.strip() for t in transcripts])
    if len(empty):
        raise InputError(f"transcripts are empty at {name_rows(empty, transcripts.index)}; "
                         f"give their transcripts or drop those clips.")
    return transcripts, hyp


@validate_params({"fdr": [Interval(Real, 0, 1, closed="neither")]})
def find_transcript_issues(
    transcripts: pd.Series, hypotheses: pd.Series, *, fdr: float = 0.05
) -> pd.DataFrame:
    """Flag transcripts that a recogniser disagrees with far beyond its usual error.

    See the module docstring for the count model and the threshold. Texts are compared
    as given: normalise both sides the same way first (case, punctuation, fillers).

    Parameters
    ----------
    transcripts : Series of n_clips str, indexed by clip
        The given transcripts (the labels); none may be empty.
    hypotheses : Series of str, indexed by clip
        The recogniser's output for (at least) every clip of ``transcripts``.
    fdr : float, default 0.05
        False-discovery rate of the flagged clips, in (0, 1).

    Returns
    -------
    DataFrame of shape (n_clips, 8), indexed like ``transcripts``
        ``is_label_issue`` (bool), ``label_quality`` (in [0, 1], lower = more
        suspicious), ``given_label``, ``suggested_label`` (the hypothesis), ``wer``
        (the hypothesis' WER against the given transcript), ``errors`` (word edits),
        ``n_words`` (transcript words) and ``expected_errors`` (the recogniser's usual
        edits at that length). ``attrs["fit"]`` holds the :class:`TranscriptFit`.

    Raises
    ------
    InputError
        Not Series, duplicate clips, a clip without hypothesis, non-text or empty
        transcripts.
    """
    given, hyp = _aligned(transcripts, hypotheses)
    if len(given) < 3:
        raise InputError(f"finding transcript issues needs at least 3 clips; got {len(given)}.")
    counts = error_counts(given.to_list(), hyp.to_list())
    e, n = counts["errors"].to_numpy(), counts["n_reference"].to_numpy()
    m = n - counts["deletions"].to_numpy() + counts["insertions"].to_numpy()
    fit, tail, wrong = fit_recogniser(e, n, m)
    table = pd.DataFrame({
        "is_label_issue": _bh(tail, fdr),
        "label_quality": tail,
        "given_label": given.to_numpy(dtype=object),
        "suggested_label": hyp.to_numpy(dtype=object),
        "wer": counts["error_rate"].to_numpy(),
        "errors": e,
        "n_words": n,
        "expected_errors": fit.rate * n,
    }, index=given.index)
    table.attrs["fit"] = fit
    return table

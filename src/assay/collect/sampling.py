"""Double-labeling plans: which items should a second labeler label, and how many?

**Sample size for a target interval width on Cohen's kappa.** Assume two labelers with
the same class prevalences ``p_c`` and agreement ``kappa`` beyond chance; their joint
distribution is then ``p_ck = (1 - kappa) p_c p_k + kappa p_c [c == k]``. The
large-sample variance of kappa-hat on ``n`` items (Fleiss, Cohen & Everitt 1969) is
``V / n`` with

    V = (A + B - C) / (1 - p_e)^2
    A = sum_c p_cc (1 - 2 p_c (1 - kappa))^2
    B = (1 - kappa)^2 sum_{c != k} p_ck (p_c + p_k)^2
    C = (kappa - p_e (1 - kappa))^2,   p_e = sum_c p_c^2,

so a 95% interval has width ``w = 2 * 1.96 * sqrt(V / n)`` and the sample size for a
target width is ``n = ceil((2 * 1.96)^2 V / w^2)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from assay._validation import (
    Integral,
    Interval,
    Real,
    check_columns,
    param_error,
    validate_params,
    warn,
)
from assay.exceptions import InputError

__all__ = [
    "SamplePlan",
    "kappa_ci_width",
    "kappa_variance",
    "label_config",
    "media_urls",
    "plan_sample",
    "sample_size_for_kappa",
    "to_label_studio_tasks",
]

Z95 = 1.959963984540054


def kappa_variance(kappa: float, prevalence: Sequence[float] | np.ndarray) -> float:
    """``n * Var(kappa-hat)`` for two labelers with agreement ``kappa`` (module docstring).

    Parameters
    ----------
    kappa : float
        Expected Cohen's kappa, in [0, 1).
    prevalence : array-like of shape (n_classes,)
        Class shares (normalised to sum to 1).
    """
    p = np.asarray(prevalence, dtype=np.float64)
    p = p / p.sum()
    joint = (1 - kappa) * np.outer(p, p) + kappa * np.diag(p)
    p_e = float(np.dot(p, p))
    a = float(np.sum(np.diag(joint) * (1 - 2 * p * (1 - kappa)) ** 2))
    off = joint * (p[:, None] + p[None, :]) ** 2
    b = (1 - kappa) ** 2 * float(off.sum() - np.trace(off))
    c = (kappa - p_e * (1 - kappa)) ** 2
    return (a + b - c) / (1 - p_e) ** 2


def kappa_ci_width(n: int, kappa: float, prevalence: Sequence[float] | np.ndarray) -> float:
    """Expected width of the 95% interval of kappa on ``n`` double-labelled items."""
    return 2 * Z95 * math.sqrt(kappa_variance(kappa, prevalence) / n)


def sample_size_for_kappa(
    ci_width: float, kappa: float, prevalence: Sequence[float] | np.ndarray
) -> int:
    """Items to double-label so that kappa's 95% interval is about ``ci_width`` wide."""
    return math.ceil((2 * Z95) ** 2 * kappa_variance(kappa, prevalence) / ci_width**2)


@dataclass
class SamplePlan:
    """A stratified sample of items for a second labeler.

    Attributes
    ----------
    sample : DataFrame
        The chosen rows of the input table (original index kept).
    strata : DataFrame
        One row per stratum: the ``by`` values, ``population`` and ``sample``.
    n : int
    expected_ci_width : float
        Expected width of kappa's 95% interval at ``n`` (NaN without prevalences).
    expected_kappa : float
    """

    sample: pd.DataFrame
    strata: pd.DataFrame
    n: int
    expected_ci_width: float
    expected_kappa: float


def _allocate(sizes: np.ndarray, n: int, min_per: int) -> np.ndarray:
    """Proportional allocation with a floor, rounded by largest remainder."""
    quota = n * sizes / sizes.sum()
    floor = np.minimum(min_per, sizes)
    alloc = np.clip(np.floor(quota), floor, sizes).astype(np.int64)
    while alloc.sum() < n:
        gap = np.where(alloc < sizes, quota - alloc, -np.inf)
        alloc[int(np.argmax(gap))] += 1
    while alloc.sum() > n:
        excess = np.where(alloc > 0, alloc - quota, -np.inf)
        alloc[int(np.argmax(excess))] -= 1
    return alloc


def _strata_keys(df: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    def flat(v: Any) -> Any:
        return "|".join(sorted(map(str, v))) if isinstance(v, (list, tuple, set)) else v

    return pd.DataFrame({c: df[c].map(flat) for c in by}, index=df.index).fillna("(missing)")


def _resolve_n(n: int | None, ci_width: float | None, kappa: float,
               prevalence: np.ndarray | None, population: int) -> int:
    if (n is None) == (ci_width is None):
        raise param_error("n", "plan_sample", "given, or else ci_width (exactly one)",
                          (n, ci_width))
    if n is not None:
        want = int(n)
    else:
        assert ci_width is not None
        if prevalence is None:
            raise InputError("ci_width= needs class prevalences: give a 'label' column in "
                             "the items table or pass prevalence=.", param="ci_width")
        want = sample_size_for_kappa(float(ci_width), kappa, prevalence)
    if want > population:
        warn(f"the plan needs {want} items but there are only {population}; "
             "taking all of them (the interval will be wider than asked).")
    return min(want, population)


@validate_params({
    "n": [None, Interval(Integral, 1, None)],
    "ci_width": [None, Interval(Real, 1e-6, 2)],
    "expected_kappa": [Interval(Real, 0, 0.999)],
    "min_per_stratum": [Interval(Integral, 0, None)],
    "seed": [Interval(Integral, 0, None)],
})
def plan_sample(
    df_items: pd.DataFrame,
    n: int | None = None,
    ci_width: float | None = None,
    by: Sequence[str] = ("label",),
    *,
    expected_kappa: float = 0.7,
    prevalence: Sequence[float] | None = None,
    min_per_stratum: int = 2,
    seed: int = 0,
) -> SamplePlan:
    """Draw a stratified sample of items for a second labeler.

    Parameters
    ----------
    df_items : DataFrame of shape (n_items, n_columns)
        One row per item with the ``by`` columns (e.g. the first label and tags; a cell
        holding a list of tags is one stratum per distinct tag set).
    n : int, optional
        Sample size. Give exactly one of ``n`` and ``ci_width``.
    ci_width : float, optional
        Target width of the 95% interval of Cohen's kappa; the size follows from the
        formula in the module docstring.
    by : sequence of str, default ("label",)
        Columns to stratify by ([] for a simple random sample).
    expected_kappa : float, default 0.7
        The kappa you expect (0.7 is a common "substantial agreement" planning value).
    prevalence : array-like of shape (n_classes,), optional
        Class shares; default: the shares of ``df_items["label"]`` when present.
    min_per_stratum : int, default 2
        Every stratum gets at least this many items (or all it has), so rare classes get
        a per-class agreement.
    seed : int, default 0

    Returns
    -------
    SamplePlan
    """
    check_columns(df_items, list(by), where="the items table")
    if len(df_items) == 0:
        raise InputError("the items table has no rows; give at least one item.")
    prev = np.asarray(prevalence, dtype=np.float64) if prevalence is not None else (
        df_items["label"].value_counts(normalize=True).to_numpy()
        if "label" in df_items.columns else None)
    if prev is not None and prev.size == 0:
        prev = None  # no labels yet (items awaiting labels): no class shares
    size = _resolve_n(n, ci_width, expected_kappa, prev, len(df_items))
    keys = _strata_keys(df_items, by) if by else pd.DataFrame(index=df_items.index)
    rng = np.random.default_rng(seed)
    groups = list(keys.groupby(list(by), sort=True).indices.items()) if by else [
        ((), np.arange(len(df_items)))]
    sizes = np.array([len(pos) for _, pos in groups])
    alloc = _allocate(sizes, size, min_per_stratum)
    chosen = np.concatenate([rng.permutation(pos)[:k] for (_, pos), k in
                             zip(groups, alloc, strict=True)])
    strata = pd.DataFrame([dict(zip(by, g if isinstance(g, tuple) else (g,), strict=True))
                           for g, _ in groups])
    strata["population"], strata["sample"] = sizes, alloc
    width = kappa_ci_width(size, expected_kappa, prev) if prev is not None else float("nan")
    return SamplePlan(df_items.iloc[np.sort(chosen)], strata, int(alloc.sum()), width,
                      expected_kappa)


def _json_value(v: Any) -> Any:
    if v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return v


def _missing(value: Any) -> bool:
    """None, NaN, NA: no pre-annotation for this task."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _prediction(label: Any, score: Any, from_name: str, to_name: str, model_version: str
                ) -> dict[str, Any]:
    """One Label Studio prediction: the label (a list or ``a|b`` text: several choices)."""
    label = _json_value(label)
    choices = [str(c) for c in label] if isinstance(label, (list, tuple)) else [str(label)]
    result: dict[str, Any] = {"from_name": from_name, "to_name": to_name, "type": "choices",
                              "value": {"choices": choices}}
    prediction: dict[str, Any] = {"model_version": model_version, "result": [result]}
    if score is not None and not _missing(score):
        prediction["score"] = result["score"] = float(score)
    return prediction


def to_label_studio_tasks(
    sample_df: pd.DataFrame,
    *,
    item_col: str = "item",
    data_cols: Sequence[str] | None = None,
    label_col: str | None = None,
    from_name: str = "label",
    to_name: str = "text",
    model_version: str = "first-labeler",
    score_col: str | None = None,
) -> list[dict[str, Any]]:
    """Label Studio import tasks (a JSON-serialisable list) for a sample.

    Parameters
    ----------
    sample_df : DataFrame of shape (n_items, n_columns)
    item_col : str, default "item"
        Stored as ``data[item_col]``, with its type (an integer id stays an integer, a
        text id text), so that the export can be matched back: the importer reads
        ``data["item"]`` by default (``parse_label_studio(..., item_key=item_col)`` for
        another name).
    data_cols : sequence of str, optional
        Columns copied into ``data`` (what the labeler sees, e.g. ``text`` or ``image``);
        default: every column except ``label_col`` and ``score_col``.
    label_col : str, optional
        Attach this column as a pre-annotation (``predictions``); a row whose value is
        missing gets none. Leave it out (or missing) for an *independent* label:
        showing the first label or the model's suggestion biases the labeler, so the
        tasks of an agreement sample carry no prediction.
    from_name, to_name : str
        Names of the ``<Choices>`` control and of the object it labels in the labeling
        config.
    model_version : str
        ``model_version`` of the pre-annotations.
    score_col : str, optional
        The pre-annotations' ``score`` (Label Studio sorts and filters tasks by it).

    Returns
    -------
    list of dict
        ``[{"data": {...}, "predictions": [...]?}, ...]``, ready for ``json.dump``.
    """
    hidden = {label_col, score_col}
    cols = list(data_cols) if data_cols is not None else [
        c for c in sample_df.columns if c not in hidden]
    extra = [c for c in (label_col, score_col) if c is not None]
    check_columns(sample_df, [item_col, *cols, *extra], where="the sample")
    # column by column: iterrows would upcast a row of int ids and float features to float
    columns = {str(c): [_json_value(v) for v in sample_df[c].tolist()]
               for c in dict.fromkeys([item_col, *cols])}
    labels = sample_df[label_col].tolist() if label_col is not None else None
    scores = sample_df[score_col].tolist() if score_col is not None else None
    tasks = []
    for i in range(len(sample_df)):
        task: dict[str, Any] = {"data": {c: values[i] for c, values in columns.items()}}
        if labels is not None and not _missing(labels[i]):
            score = scores[i] if scores is not None else None
            task["predictions"] = [
                _prediction(labels[i], score, from_name, to_name, model_version)]
        tasks.append(task)
    return tasks


#: The Label Studio object tag that shows each kind of item, and its data key.
_OBJECT_TAGS = {"image": "Image", "audio": "Audio", "text": "Text"}


def label_config(
    classes: Sequence[Any],
    *,
    modality: str = "text",
    data_cols: Sequence[str] = ("text",),
    from_name: str = "label",
    multiple: bool = False,
) -> str:
    """A Label Studio labeling config for tasks of :func:`to_label_studio_tasks`.

    Parameters
    ----------
    classes : sequence
        The choices, in the label book's order.
    modality : {"image", "audio", "text", "tabular"}
        How the item is shown: ``<Image>``, ``<Audio>`` or ``<Text>`` of
        ``data[modality]``; for tabular items, one ``<Text>`` per column of
        ``data_cols`` under a header naming it.
    data_cols : sequence of str
        The data keys of a tabular task (ignored for the other modalities).
    from_name : str, default "label"
        The ``<Choices>`` control's name (what the importer reads by default).
    multiple : bool, default False
        Several choices per item (label sets).

    Returns
    -------
    str
        The config's XML.
    """
    tag = _OBJECT_TAGS.get(modality)
    if tag is not None:
        shown = [f'  <{tag} name="{modality}" value="${modality}"/>']
        to_name = modality
    else:
        shown = [f'  <Header value="{escape(str(c))}"/>\n  <Text name="col_{i}" value="${c}"/>'
                 for i, c in enumerate(data_cols)]
        to_name = "col_0"
    choices = "\n".join(f'    <Choice value="{escape(str(c), quote=True)}"/>' for c in classes)
    kind = "multiple" if multiple else "single"
    return ("<View>\n" + "\n".join(shown) + "\n"
            f'  <Choices name="{from_name}" toName="{to_name}" choice="{kind}" '
            f'showInline="true">\n{choices}\n  </Choices>\n</View>\n')


def media_urls(
    paths: Sequence[str], root: str | Path, image_url: str,
    document_root: str | Path | None = None,
) -> list[str]:
    """URLs Label Studio can show for media files at ``paths`` (relative to ``root``).

    Parameters
    ----------
    paths : sequence of str
        The files, relative to ``root`` (a dataset's media column).
    root : str or Path
        The folder the paths are relative to (a dataset's media root).
    image_url : str
        ``"local-files"``: Label Studio's Local Files storage,
        ``/data/local-files/?d=PATH`` with PATH relative to ``document_root`` (Label
        Studio's ``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT``); or a base URL
        (``http(s)://...``) under which the files are served as they lie under ``root``.
    document_root : str or Path, optional
        Required for ``"local-files"``; every file must lie under it.

    Returns
    -------
    list of str
    """
    if image_url == "local-files":
        if document_root is None:
            raise InputError(
                "image_url='local-files' needs Label Studio's document root: set "
                "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT to the folder Label Studio serves "
                "local files from (as when starting it).", param="image_url")
        base = Path(document_root).resolve()
        files = [(Path(root) / p).resolve() for p in paths]
        outside = [str(f) for f in files if not f.is_relative_to(base)]
        if outside:
            raise InputError(
                f"{len(outside)} file(s) are not under Label Studio's document root {base}, "
                f"e.g. {outside[0]}; set LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT to a folder "
                "that holds the media.", param="image_url")
        return ["/data/local-files/?d=" + quote(f.relative_to(base).as_posix(), safe="/")
                for f in files]
    if not image_url.startswith(("http://", "https://")):
        raise InputError(
            f"image_url={image_url!r} is neither 'local-files' nor a base URL; give "
            "'local-files' or e.g. 'https://files.example.org/images/'.", param="image_url")
    base_url = image_url.rstrip("/") + "/"
    return [base_url + quote(Path(p).as_posix(), safe="/") for p in paths]

"""Box label issues (find_box_issues) on real boxes with planted errors, and brute force."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay._boxes import iou_matrix, iou_rows
from assay.exceptions import InputError
from assay.train.labels import box_issues_per_image, find_box_issues
from assay.train.labels._boxes import BOX_ISSUE_KINDS, _image_pairs, _partners, _prepare

DETECTION = Path(__file__).resolve().parents[3] / "shared/data/detection"
GEOM = ["x", "y", "w", "h"]
COLUMNS = ["image", "label", *GEOM]


def _bccd() -> pd.DataFrame:
    """BCCD's 4,888 boxes in 3 classes (its CSV runs xmin, xmax, ymin, ymax)."""
    raw = pd.read_csv(DETECTION / "bccd/test.csv")
    out = pd.DataFrame({
        "image": raw["filename"], "label": raw["cell_type"], "x": raw["xmin"].astype(float),
        "y": raw["ymin"].astype(float), "w": (raw["xmax"] - raw["xmin"]).astype(float),
        "h": (raw["ymax"] - raw["ymin"]).astype(float),
    })
    return out[(out["w"] > 0) & (out["h"] > 0)].reset_index(drop=True)


def _raccoon() -> pd.DataFrame:
    raw = pd.read_csv(DETECTION / "raccoon/data/raccoon_labels.csv")
    return pd.DataFrame({
        "image": raw["filename"], "label": raw["class"], "x": raw["xmin"].astype(float),
        "y": raw["ymin"].astype(float), "w": (raw["xmax"] - raw["xmin"]).astype(float),
        "h": (raw["ymax"] - raw["ymin"]).astype(float),
    })


def _detector(true: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A detector that sees 97% of the true boxes (jitter 3%) plus low-score false alarms."""
    seen = true[rng.uniform(size=len(true)) < 0.97].copy()
    g = seen[GEOM].to_numpy(copy=True)
    g[:, :2] += rng.normal(0, 0.03, (len(g), 2)) * g[:, 2:]
    g[:, 2:] *= np.exp(rng.normal(0, 0.03, (len(g), 2)))
    seen[GEOM] = g
    seen["score"] = rng.beta(8, 2, len(seen))
    fp = true.sample(len(true) // 5, random_state=int(rng.integers(1 << 30))).copy()
    fp[["x", "y"]] = fp[["x", "y"]].to_numpy() + fp[["w", "h"]].to_numpy() * 1.5
    fp["score"] = rng.beta(2, 8, len(fp))
    return pd.concat([seen, fp], ignore_index=True)


def _plant(true: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    """Drop, move, swap (where there are several classes) and add spurious boxes."""
    n = len(true)
    order = rng.permutation(n)
    drop, move, swap = order[: n // 10], order[n // 10: n // 5], order[n // 5: n // 5 + n // 20]
    noisy = true.copy()
    g = noisy.loc[move, GEOM].to_numpy(copy=True)
    g[:, :2] += g[:, 2:] * rng.uniform(0.25, 0.4, (len(g), 2)) * rng.choice([-1, 1], (len(g), 2))
    noisy.loc[move, GEOM] = g
    classes = sorted(true["label"].unique())
    if len(classes) > 1:
        noisy.loc[swap, "label"] = [classes[(classes.index(c) + 1) % len(classes)]
                                    for c in true.loc[swap, "label"]]
    else:
        swap = swap[:0]
    spurious = true.sample(n // 10, random_state=int(rng.integers(1 << 30))).copy()
    spurious[["x", "y"]] = spurious[["x", "y"]].to_numpy() - spurious[["w", "h"]].to_numpy() * 2
    by_image = true.groupby("image")
    background = [iou_matrix(row[GEOM].to_numpy(float), by_image.get_group(row.image)[GEOM]
                             .to_numpy()).max() < 0.1 for _, row in spurious.iterrows()]
    spurious = spurious[background].head(n // 20)  # on background: no true box within IoU 0.1
    noisy = pd.concat([noisy[~np.isin(np.arange(n), drop)], spurious], ignore_index=True)
    kept = np.setdiff1d(np.arange(n), drop)  # noisy row i < len(kept) is true row kept[i]
    where = {int(t): i for i, t in enumerate(kept)}
    planted = {
        "overlooked": drop,
        "badly_located": np.array([where[int(t)] for t in move]),
        "swapped": np.array([where[int(t)] for t in swap], dtype=np.int64),
        "spurious": np.arange(len(kept), len(noisy)),
    }
    return noisy, planted


@pytest.fixture(scope="module")
def bccd_case() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict, pd.DataFrame]:
    rng = np.random.default_rng(0)
    true = _bccd()
    noisy, planted = _plant(true, rng)
    pred = _detector(true, rng)
    return true, noisy, pred, planted, find_box_issues(noisy, pred)


def test_table_has_the_contract_columns_one_row_per_label_box_ranked(bccd_case) -> None:
    _, noisy, pred, _, table = bccd_case
    expected = {"image", "issue", "is_label_issue", "label_quality", "given_label",
                "suggested_label", *(f"given_{c}" for c in GEOM),
                *(f"suggested_{c}" for c in GEOM), "score", "iou", "label_row",
                "prediction_row"}
    assert expected <= set(table.columns)
    assert set(table["issue"]) <= {"", *BOX_ISSUE_KINDS}
    assert (table["is_label_issue"] == (table["issue"] != "")).all()
    assert table["label_quality"].between(0, 1).all()
    assert table["label_quality"].is_monotonic_increasing
    label_rows = table.loc[table["label_row"] >= 0, "label_row"]
    assert sorted(label_rows) == list(range(len(noisy)))
    given = table[table["label_row"] >= 0].set_index("label_row").sort_index()
    np.testing.assert_array_equal(given["given_label"], noisy["label"])
    np.testing.assert_allclose(given[[f"given_{c}" for c in GEOM]], noisy[GEOM])
    over = table[table["label_row"] < 0]
    assert (over["issue"].isin(["", "overlooked"])).all() and over["given_label"].isna().all()
    np.testing.assert_array_equal(over["suggested_label"],
                                  pred["label"].to_numpy()[over["prediction_row"]])


@pytest.mark.parametrize("kind", ["badly_located", "swapped", "spurious"])
def test_planted_label_box_errors_are_found_with_their_kind(bccd_case, kind: str) -> None:
    _, _, _, planted, table = bccd_case
    rows = table[table["label_row"] >= 0].set_index("label_row")
    found = rows.loc[planted[kind], "issue"]
    assert (found == kind).mean() >= 0.8, found.value_counts()
    flagged = rows[rows["issue"] == kind].index
    precision = np.isin(flagged, planted[kind]).mean()
    assert precision >= 0.6, (kind, precision)


def test_dropped_boxes_come_back_as_overlooked_predictions(bccd_case) -> None:
    true, _, _, planted, table = bccd_case
    over = table[table["issue"] == "overlooked"]
    dropped = true.loc[planted["overlooked"]]
    hits = 0
    for image, group in dropped.groupby("image"):
        found = over[over["image"] == image]
        if len(found):
            iou = iou_matrix(group[GEOM].to_numpy(), found[[f"suggested_{c}" for c in GEOM]]
                             .to_numpy())
            hits += int((iou.max(axis=1) >= 0.5).sum())
    assert hits / len(dropped) >= 0.7
    assert len(over) <= 1.5 * len(dropped)


def test_suggestions_point_back_to_the_true_box(bccd_case) -> None:
    true, noisy, _, planted, table = bccd_case
    rows = table[table["label_row"] >= 0].set_index("label_row")
    kept = noisy.iloc[planted["swapped"]]
    swapped = rows.loc[planted["swapped"]]
    hit = swapped["issue"] == "swapped"
    classes = sorted(true["label"].unique())
    original = [classes[(classes.index(c) - 1) % len(classes)] for c in kept["label"]]
    assert (swapped.loc[hit, "suggested_label"].to_numpy() == np.array(original)[hit]).mean() > 0.9
    moved = rows.loc[planted["badly_located"]]
    moved = moved[moved["issue"] == "badly_located"]
    assert (moved["iou"] < 0.7).all() and (moved["suggested_label"] == moved["given_label"]).all()


def test_per_image_queue_puts_images_with_planted_errors_first(bccd_case) -> None:
    true, noisy, _, planted, table = bccd_case
    per_image = box_issues_per_image(table)
    bad = set(noisy.loc[np.concatenate([planted[k] for k in BOX_ISSUE_KINDS[1:]]), "image"])
    bad |= set(true.loc[planted["overlooked"], "image"])
    assert per_image.index.isin(bad)[:100].mean() >= 0.95
    assert per_image["image_quality"].is_monotonic_increasing
    counts = table[table["is_label_issue"]].groupby("image").size()
    np.testing.assert_array_equal(per_image["n_issues"].reindex(counts.index), counts)
    assert (per_image[list(BOX_ISSUE_KINDS)].sum(axis=1) == per_image["n_issues"]).all()
    assert per_image["n_boxes"].sum() == len(noisy)


def test_a_clean_single_class_set_has_few_issues_and_monotone_scores_do_not_matter() -> None:
    rng = np.random.default_rng(1)
    true = _raccoon()
    pred = _detector(true, rng)
    table = find_box_issues(true, pred)
    assert table["is_label_issue"].mean() < 0.08
    squashed = pred.assign(score=pred["score"] ** 3)  # a monotone change of the scores
    again = find_box_issues(true, squashed)
    key = ["label_row", "prediction_row"]
    a = table.sort_values(key, ignore_index=True)
    b = again.sort_values(key, ignore_index=True)
    np.testing.assert_array_equal(a["issue"], b["issue"])
    np.testing.assert_allclose(a["label_quality"], b["label_quality"])
    assert again.attrs["fit"].overlooked_score == pytest.approx(
        table.attrs["fit"].overlooked_score ** 3)


def test_an_untouched_box_is_more_suspect_where_the_detector_saw_the_image() -> None:
    # raccoon, one class: a box no prediction touches is a miss or a spurious box; in an
    # image where the detector confidently found the raccoon it is the more suspect one
    rng = np.random.default_rng(3)
    true = _raccoon()
    pred = _detector(true, rng)
    images = true["image"].unique()
    seen_image, blind_image = images[0], images[1]
    pred = pred[pred["image"] != blind_image]  # the detector found nothing there
    extra = pd.DataFrame(
        {"image": [seen_image, blind_image], "label": "raccoon", "x": -500.0, "y": -500.0}
    ).assign(w=40.0, h=40.0)
    table = find_box_issues(pd.concat([true, extra], ignore_index=True), pred)
    rows = table.set_index("label_row")
    seen_q = rows.at[len(true), "label_quality"]
    blind_q = rows.at[len(true) + 1, "label_quality"]
    assert rows.at[len(true), "issue"] == rows.at[len(true) + 1, "issue"] == "spurious"
    assert seen_q < blind_q < 0.5


def _random_frame(rng: np.random.Generator, n: int, images: int, score: bool) -> pd.DataFrame:
    xy = rng.uniform(0, 60, (n, 2))
    wh = rng.uniform(10, 40, (n, 2))
    out = pd.DataFrame(np.hstack([xy, wh]), columns=GEOM)
    out.insert(0, "image", rng.integers(0, images, n))
    out.insert(1, "label", rng.choice(["a", "b"], n))
    if score:
        out["score"] = rng.uniform(0, 1, n)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_pairs_and_partners_equal_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = _random_frame(rng, 9, 3, score=False)
    preds = _random_frame(rng, 10, 3, score=True)
    frames = _prepare(labels, preds, None)
    pairs = _image_pairs(frames)
    brute = {(i, j): iou_rows(labels.loc[[i], GEOM].to_numpy(), preds.loc[[j], GEOM].to_numpy())[0]
             for i in range(9) for j in range(10) if labels.image[i] == preds.image[j]}
    brute = {k: v for k, v in brute.items() if v >= 0.1}
    got = dict(zip(zip(pairs["label"], pairs["pred"], strict=True), pairs["iou"], strict=True))
    assert got.keys() == brute.keys()
    np.testing.assert_allclose([got[k] for k in brute], list(brute.values()))
    partner, partner_iou = _partners(frames)
    for image, label in set(zip(labels.image, labels.label, strict=True)):
        li = np.flatnonzero((labels.image == image) & (labels.label == label))
        pj = np.flatnonzero((preds.image == image) & (preds.label == label))
        assert partner_iou[li].sum() == pytest.approx(_best_total(labels, preds, li, pj))


def _best_total(labels: pd.DataFrame, preds: pd.DataFrame, li: np.ndarray,
                pj: np.ndarray) -> float:
    """The largest total IoU (pairs >= 0.1) of a one-to-one matching, by enumeration."""
    iou = iou_matrix(labels.loc[li, GEOM].to_numpy(), preds.loc[pj, GEOM].to_numpy())
    iou = np.where(iou >= 0.1, iou, 0.0)
    if iou.size == 0:
        return 0.0
    if len(li) <= len(pj):
        return max(sum(iou[i, p] for i, p in enumerate(perm))
                   for perm in itertools.permutations(range(len(pj)), len(li)))
    return max(sum(iou[p, j] for j, p in enumerate(perm))
               for perm in itertools.permutations(range(len(li)), len(pj)))


@pytest.mark.parametrize(
    ("labels", "preds", "kwargs", "message"),
    [
        ("drop:h", None, {}, "labels lacks the column(s) h"),
        (None, "drop:score", {}, "predictions lacks the column(s) score"),
        ("zero:w", None, {}, "labels row 0"),
        (None, "empty", {}, "predictions has no boxes"),
        (None, None, {"classes": ["RBC", "Platelets"]}, "not among classes"),
    ],
)
def test_bad_input_is_refused_in_one_line(labels, preds, kwargs, message) -> None:
    true = _bccd().head(60)
    pred = _detector(true, np.random.default_rng(0))

    def change(frame: pd.DataFrame, how: str | None) -> pd.DataFrame:
        if how is None:
            return frame
        if how == "empty":
            return frame.iloc[:0]
        what, column = how.split(":")
        if what == "drop":
            return frame.drop(columns=column)
        return frame.assign(**{column: 0.0})

    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        find_box_issues(change(true, labels), change(pred, preds), **kwargs)
    assert "\n" not in str(err.value)


def test_per_image_refuses_another_table() -> None:
    with pytest.raises(InputError, match="find_box_issues"):
        box_issues_per_image(pd.DataFrame({"image": [1]}))

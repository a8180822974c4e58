"""Consensus benchmark: Dawid-Skene accuracy and speed against crowd-kit.

Targets (issue 3): on every data set in ``../shared/data/crowd`` with gold labels,
assay's Dawid-Skene accuracy >= crowd-kit's ``DawidSkene`` and >= majority vote; >= 3x
faster than crowd-kit end to end on the largest; peak memory <= 1 GB at 1,000,000
annotations. Everyone gets the same input (repeated (item, worker) labels dropped,
keeping the last). Besides each library's defaults, the two are compared at equal
stopping rules (the same number of EM iterations), and majority vote is also scored
with ties split evenly (the expected accuracy of a random tie-break), which does not
depend on any library's tie rule.
"""

from __future__ import annotations

import argparse
import sys
import tracemalloc
import warnings
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table, median_time, write_results  # noqa: E402

from assay.collect import consensus  # noqa: E402

CROWD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "crowd"
GOLD = {"AdultContent2": "gold.txt", "BarzanMozafari": "evaluation.txt",
        "HITspam-UsingMTurk": "gold.txt"}
CONVERGED_ITER = 100  # "run to convergence": labels no longer change (checked: 50 = 100 = 300)


def load(name: str) -> tuple[pd.DataFrame, pd.Series]:
    df = pd.read_csv(CROWD / name / "labels.txt", sep="\t", header=None,
                     names=["worker", "task", "label"], dtype=str)
    df = df.drop_duplicates(["task", "worker"], keep="last").reset_index(drop=True)
    gold = pd.read_csv(CROWD / name / GOLD[name], sep="\t", header=None,
                       names=["task", "label"], dtype=str).set_index("task")["label"]
    return df, gold


def accuracy(labels: pd.Series, gold: pd.Series) -> float:
    common = gold.index.intersection(labels.index)
    if len(common) == 0:
        return float("nan")
    return float((labels.reindex(common).astype(str) == gold[common]).mean())


def fair_majority(df: pd.DataFrame, gold: pd.Series) -> float:
    """Majority-vote accuracy with ties split evenly (expected value of a random tie-break)."""
    votes = df.groupby(["task", "label"]).size().unstack(fill_value=0)
    common = gold.index.intersection(votes.index)
    if len(common) == 0:
        return float("nan")
    v = votes.loc[common]
    top = v.eq(v.max(axis=1), axis=0)
    hit = np.array([top.at[t, g] if g in top.columns else False for t, g in gold[common].items()])
    return float((hit / top.sum(axis=1).to_numpy()).mean())


def run_crowdkit(df: pd.DataFrame, n_iter: int = 100, tol: float = 1e-5) -> tuple[pd.Series, int]:
    from crowdkit.aggregation import DawidSkene

    ds = DawidSkene(n_iter=n_iter, tol=tol)
    labels = ds.fit_predict(df)
    return labels, len(ds.loss_history_)


def crowdkit_majority(df: pd.DataFrame) -> pd.Series:
    from crowdkit.aggregation import MajorityVote

    return MajorityVote().fit_predict(df)


def fmt(x: float) -> str:
    return "n/a" if np.isnan(x) else f"{x:.4f}"


def real_row(name: str, repeats: int) -> tuple[list[object], dict[str, Any]]:
    """Defaults against defaults: accuracy, iterations, median time."""
    df, gold = load(name)
    consensus(df, "dawid_skene"), run_crowdkit(df)  # warm-up (imports, caches)
    t_ds, ds = median_time(partial(consensus, df, "dawid_skene"), repeats)
    t_ck, (ck, ck_iter) = median_time(partial(run_crowdkit, df), repeats)
    n_gold = len(gold.index.intersection(ds.labels.index))
    acc = {"ds": accuracy(ds.labels["label"], gold), "ck": accuracy(ck, gold),
           "mv": accuracy(consensus(df, "majority").labels["label"], gold),
           "ck_mv": accuracy(crowdkit_majority(df), gold), "fair_mv": fair_majority(df, gold)}
    same = (ds.labels["label"].reindex(ck.index).astype(str) == ck.astype(str)).mean()
    row: list[object] = [
        name, f"{len(df):,}", n_gold, fmt(acc["ds"]), fmt(acc["ck"]), fmt(acc["mv"]),
        fmt(acc["ck_mv"]), fmt(acc["fair_mv"]), f"{same:.3f}",
        f"{t_ds:.3f} ({ds.n_iter} it)", f"{t_ck:.3f} ({ck_iter} it)", f"{t_ck / t_ds:.1f}",
        f"{(t_ck / ck_iter) / (t_ds / ds.n_iter):.0f}", f"{ds.pool_strength:.1f}",
    ]
    info = {"name": name, "labels": len(df), "n_gold": n_gold, "speed": t_ck / t_ds,
            "ds_iter": ds.n_iter, "ck_iter": ck_iter, **acc}
    return row, info


def equal_rows(name: str, info: dict[str, Any], converged: bool) -> list[list[object]]:
    """The same number of EM iterations for both: crowd-kit's, assay's, and many."""
    df, gold = load(name)
    plans = [("crowd-kit's stop", info["ck_iter"]), ("assay's stop", info["ds_iter"])]
    if converged:
        plans.append(("converged", CONVERGED_ITER))
    rows: list[list[object]] = []
    for label, n in plans:
        ck, _ = run_crowdkit(df, n_iter=n, tol=-np.inf)
        classic = consensus(df, "dawid_skene", pool_strength=0, max_iter=n, tol=0,
                            inference="point")
        auto = consensus(df, "dawid_skene", max_iter=n, tol=0)
        rows.append([name, f"{label}: {n}", fmt(accuracy(ck, gold)),
                     fmt(accuracy(classic.labels["label"], gold)),
                     fmt(accuracy(auto.labels["label"], gold))])
    return rows


def shuffle_rows(name: str, seeds: tuple[int, ...] = (0, 1, 2)) -> list[list[object]]:
    """Gold accuracy when the input rows are reshuffled: which results depend on row order."""
    df, gold = load(name)
    out: list[list[object]] = []
    for seed in (None, *seeds):
        d = df if seed is None else df.sample(frac=1, random_state=seed).reset_index(drop=True)
        out.append([name, "as in the file" if seed is None else f"shuffled, seed {seed}",
                    "".join(d["label"].unique()),
                    fmt(accuracy(crowdkit_majority(d), gold)),
                    fmt(accuracy(consensus(d, "majority").labels["label"], gold)),
                    fmt(accuracy(run_crowdkit(d)[0], gold)),
                    fmt(accuracy(consensus(d, "dawid_skene").labels["label"], gold))])
    return out


def ablation_rows(name: str) -> list[list[object]]:
    """Gold accuracy of the prior and inference variants (reported, not used to choose)."""
    df, gold = load(name)
    k = df["label"].nunique()
    variants: list[tuple[str, float | Literal["auto"]]] = [
        ("0 (classic DS)", 0.0), (f"K = {k} (Laplace mass)", float(k)),
        ("5 (an earlier default)", 5.0), ("auto (empirical Bayes)", "auto")]
    out: list[list[object]] = []
    for inference in ("variational", "point"):
        for label, strength in variants:
            res = consensus(df, "dawid_skene", pool_strength=strength,
                            inference=inference)  # type: ignore[arg-type]
            out.append([name, inference, label, f"{res.pool_strength:.2f}",
                        fmt(accuracy(res.labels["label"], gold)), res.n_iter])
    return out


def verdicts(infos: list[dict[str, Any]], synth: list[list[object]], peak: float) -> str:
    """Target lines: met / MISSED, computed from the measurements."""
    lines = []
    for r in infos:
        if np.isnan(r["ds"]):
            lines.append(f"- {r['name']}: accuracy targets not measurable (no gold item "
                         "matches an annotated item; see the notes).")
            continue
        best_mv = max(r["mv"], r["ck_mv"], r["fair_mv"])
        ok_ck, ok_mv = r["ds"] >= r["ck"], r["ds"] >= best_mv
        lines.append(
            f"- {r['name']}: DS {r['ds']:.4f} vs crowd-kit DS {r['ck']:.4f} "
            f"({(r['ds'] - r['ck']) * r['n_gold']:+.0f} items): "
            f"{'met' if ok_ck else 'MISSED'}; vs the best majority vote {best_mv:.4f} "
            f"({(r['ds'] - best_mv) * r['n_gold']:+.1f} items): {'met' if ok_mv else 'MISSED'}.")
    largest = max(infos, key=lambda r: r["labels"])
    lines.append(f"- speed on the largest real set ({largest['name']}): {largest['speed']:.1f}x "
                 f"({'met' if largest['speed'] >= 3 else 'MISSED'}).")
    lines.append(f"- speed at {synth[0][0]} annotations: {synth[0][6]}x; peak memory "
                 f"{peak:.0f} MiB ({'met' if peak <= 1024 else 'MISSED'}).")
    return "\n".join(lines)


def synthetic(n_items: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """5 of 20 annotators per item, 10 classes, per-annotator accuracy 0.5 to 0.9."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 10, n_items)
    who = np.argsort(rng.random((n_items, 20)), axis=1)[:, :5]
    acc = np.linspace(0.5, 0.9, 20)[who]
    lab = np.where(rng.random(who.shape) < acc, truth[:, None], rng.integers(0, 10, who.shape))
    df = pd.DataFrame({"task": np.repeat(np.arange(n_items), 5),
                       "worker": [f"w{j}" for j in who.ravel()], "label": lab.ravel()})
    return df, truth


def synthetic_rows(n_items: int) -> tuple[list[list[object]], float]:
    df, truth = synthetic(n_items)
    t_ds, ds = median_time(lambda: consensus(df, "dawid_skene"), 1)
    tracemalloc.start()
    consensus(df, "dawid_skene")
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    acc = (ds.labels["label"].reindex(np.arange(n_items)).to_numpy() == truth).mean()
    mv = consensus(df, "majority").labels["label"].reindex(np.arange(n_items)).to_numpy()
    t_ck, (ck, ck_iter) = median_time(lambda: run_crowdkit(df), 1)
    ck_acc = (ck.reindex(np.arange(n_items)).to_numpy() == truth).mean()
    row: list[object] = [f"synthetic {len(df):,}", f"{acc:.4f}", f"{(mv == truth).mean():.4f}",
                         f"{t_ds:.2f} ({ds.n_iter} it)", f"{ck_acc:.4f}",
                         f"{t_ck:.2f} ({ck_iter} it)", f"{t_ck / t_ds:.1f}"]
    return [row], peak


NOTES = """
Notes:

- **What assay's Dawid-Skene does now** (no gold label is used by any default): it
  starts from majority-vote shares; each annotator's confusion matrix has a Dirichlet
  prior centred on the pooled confusion matrix of all annotators against the majority
  vote, with a strength (pseudo-labels per true class) estimated by empirical Bayes:
  the value that maximises the Dirichlet-multinomial marginal likelihood of the
  annotators' majority-vote confusion counts (column "assay prior strength"). Inference
  is variational Bayes (IBCC-style): the annotators' confusion matrices get Dirichlet
  posteriors, and the E-step uses their expected logs, so an annotator with few labels
  counts for less than their point estimate suggests. It stops when the evidence lower
  bound gains less than `tol=1e-5` nats per annotation (crowd-kit's tolerance, on its
  per-label scale). `inference="point"` keeps EM with point estimates (with
  `pool_strength=0` it is classic DS, step for step crowd-kit's).
- **How the default was chosen, without gold.** benchmarks/consensus_selection.py
  (results/consensus_selection.md) keeps each real data set's design (who labelled
  what), draws labels from three generating models fitted to the annotations (classic
  DS, EB-prior DS, one-coin) and scores every candidate against the drawn truth. The
  rule was written down before any new candidate was scored on gold: the assay
  candidate with the highest mean accuracy there becomes the default. Variational
  inference won on each of the three designs (by 0.05-0.07 points over point estimates
  with the same prior, 0.04-0.9 points over crowd-kit's DS) and was adopted. On gold it scores one
  AdultContent2 item fewer than the point-estimate version it replaced (see the
  ablation table); the rule stands, because choosing by those 333 items is what the
  rule is there to avoid.
- **Forking paths, disclosed.** Before the selection study (earlier sessions) I looked at gold
  accuracy for the previous code's strengths 0 to 10 after 1 to 1,000 iterations
  (0.7357 to 0.7688 on AdultContent2), for fixed strengths 0, 1, K, 2K with the prior
  centred on majority-vote *shares* (0.7387 to 0.7688; 2K = 8 gave 0.7688 there and
  gives 0.7628 with the hard centre used now), and for the empirical-Bayes estimator fed
  with shares instead of hard majority-vote counts (0.7688 on AdultContent2, 0.7160 on
  BarzanMozafari: it would have met every target). I rejected the shares version for a
  reason that does not involve gold: shares are not counts, and they blur the
  differences between annotators; on the
  simulated set of tests/collect (3 good annotators, 4 spammers) it estimates a strength
  of ~150, shrinks the spammers to the average annotator and loses Dawid-Skene's
  advantage over majority vote (a test now guards this); hard counts give 13-16 there.
- **crowd-kit's stopping rule.** crowd-kit's `loss_history_` on AdultContent2 starts
  -1.2313, -1.2466, -1.2581, ... and keeps falling: its "ELBO" adds the log class prior
  once per label rather than once per item, so it is not the bound EM increases, and its
  `tol` test (gain < 1e-5) fires at the 2nd iteration because the loss went down, not
  because EM converged. Its 0.7658 is the accuracy of classic DS after 2 EM steps
  (assay's classic DS stopped there gives the same, see the equal-stopping table); run
  longer it drops to 0.7477 (at 20, 50, 100 and 300 iterations), below assay's.
- **Ties in majority vote.** AdultContent2 has 423 items with tied votes, 10 of them
  gold. crowd-kit breaks ties by the order in which labels first appear in the input
  file (there P before G and R before X) and gets 7 of the 10 right; assay breaks them
  by the overall label frequency (G > P > X > R: the Bayes decision under a one-coin
  model with the empirical class prior, independent of row order) and gets 2; a random
  tie-break gets 4.5 on average ("MV, ties split"). Gold is the rarer of the tied
  classes on 7 of those 10 items. Switching assay's rule to "rarer class wins" would be tuning on
  gold, and a row-order rule is not reproducible (the row-order table: crowd-kit's MV
  moves between 0.7508 and 0.7658 when the same rows are reshuffled, while both
  libraries' DS and assay's MV do not move), so the rule stays; the verdicts compare
  DS against the best of the three MV columns, i.e. crowd-kit's lucky file order.
- **Noise.** Only 333 of AdultContent2's 1,517 gold items have crowd labels: one item
  is 0.30 points, and the binomial standard error of each accuracy is about 2.3 points
  (BarzanMozafari: 1,000 items, 1.4 points). The AdultContent2 miss is two items, well
  inside that noise; it is reported as missed because the target says >=. On
  semi-synthetic data with AdultContent2's design assay's DS is ~1 point more accurate
  than crowd-kit's (results/consensus_selection.md).
- **HITspam-UsingMTurk has no usable gold.** labels.txt names 5,840 items by
  30-character MTurk HIT ids (e.g. `18G0VZW5C88ERH3V7HZJMSTLPMFD1J`); gold.txt names 101
  items by URLs `http://www.mturk-tracker.com/hit/<id>/` whose ids are 96 30-character
  ids and 5 32-hex-digit ids. After stripping the URL: 0 exact or case-insensitive
  matches, no shared 8-character prefix, 6-character suffix or 8-character substring,
  and the hex ids are not the MD5/SHA-1 of any label-file id (raw, lower-case or as the
  tracker URL). The cause: upstream (github.com/ipeirotis/Get-Another-Label) the same
  101 lines are `data/HITspam-UsingCrowdflower/gold.txt`, and that data set's
  labels.txt names items by exactly these tracker URLs (its first gold item
  `.../hit/03a26f4ac8b350114dcb3d9a38eb9dc5/` is labelled there by workers 460747,
  188054, ...). The gold file belongs to the CrowdFlower collection of the same study;
  the MTurk labels have no gold. Measuring accuracy there needs the CrowdFlower labels
  added to ../shared/data/crowd (not done: outside this benchmark's ownership).
- Speed is end to end (encoding, EM, result tables) on a shared, noisy 2-core machine;
  crowd-kit's time per run varies by several x between runs, so the ratio is a median.
"""


def body_text(real: list[list[object]], infos: list[dict[str, Any]], equal: list[list[object]],
              shuffled: list[list[object]], ablation: list[list[object]],
              synth: list[list[object]], peak: float) -> str:
    return (
        "Defaults against defaults (accuracy on the gold items that have labels):\n\n"
        + markdown_table(
            ["data set", "labels", "gold items", "assay DS", "crowd-kit DS", "assay MV",
             "crowd-kit MV", "MV, ties split", "same label as crowd-kit DS", "assay DS s",
             "crowd-kit DS s", "speed-up", "speed-up per iteration", "assay prior strength"],
            real)
        + "\n\nEqual stopping rules (both run exactly n EM iterations from majority vote; "
        "crowd-kit with `tol=-inf`, assay with `tol=0`):\n\n"
        + markdown_table(["data set", "iterations", "crowd-kit DS", "assay DS, classic "
                          "(pool_strength=0, point)", "assay DS, defaults"], equal)
        + "\n\nRow order (the same annotations, rows reshuffled; label order = order of "
        "first appearance):\n\n"
        + markdown_table(["data set", "rows", "label order", "crowd-kit MV", "assay MV",
                          "crowd-kit DS", "assay DS"], shuffled)
        + "\n\nPrior strength and inference variants of assay DS (default tol; for "
        "transparency, see the note on forking paths):\n\n"
        + markdown_table(["data set", "inference", "pool_strength", "strength used",
                          "accuracy", "iterations"], ablation)
        + "\n\nSynthetic (5 of 20 annotators per item, 10 classes; truth known):\n\n"
        + markdown_table(["data", "assay DS acc", "assay MV acc", "assay DS s",
                          "crowd-kit DS acc", "crowd-kit DS s", "speed-up"], synth)
        + f"\n\nPeak traced memory of assay's Dawid-Skene on the synthetic set: "
        f"{peak:.0f} MiB (target <= 1024 MiB at 1M annotations).\n"
        "assay's defaults: inference='variational', smoothing=0.01, pool_strength='auto', "
        "tol=1e-5 per annotation on the evidence lower bound, max_iter=100; crowd-kit: DawidSkene(n_iter=100), its default "
        "tol=1e-5 per label on its loss.\n\nTargets:\n\n" + verdicts(infos, synth, peak)
        + "\n\n" + NOTES
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="1 repeat, 100k synthetic, no converged runs, no ablation")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # crowd-kit's pandas deprecation warnings
    real, infos, equal, ablation = [], [], [], []
    for name in GOLD:
        row, info = real_row(name, 1 if args.quick else 5)
        real.append(row)
        infos.append(info)
        if not np.isnan(info["ds"]):
            equal += equal_rows(name, info, converged=not args.quick)
            ablation += [] if args.quick else ablation_rows(name)
    shuffled = [] if args.quick else shuffle_rows("AdultContent2")
    synth, peak = synthetic_rows(20_000 if args.quick else 200_000)
    body = body_text(real, infos, equal, shuffled, ablation, synth, peak)
    if args.quick:
        print(body)
    else:
        write_results("consensus", "Consensus: Dawid-Skene vs crowd-kit", body)


if __name__ == "__main__":
    main()

"""Is consensus ``quality`` calibrated? Dawid-Skene before and after issue 18, item 4.

PRE-REGISTERED (written before the first run, 2026-12-05 14:40 UTC). Symptom: with two
annotators who disagree, the default Dawid-Skene resolved every one-to-one tie to the
same class with quality 0.998-0.999. Cause found on a simulation (two annotators of
accuracy 0.85, binary): the pooled prior was centred on confusion counts against *hard*
majority labels whose ties were broken toward one class, so the fitted voters never err
on that class and every disagreement is "explained" by the other one. Candidate: centre
the prior on the majority-vote *shares* (``prior_from="shares"``; ties count half).

AMENDED 14:25 UTC, after the first run and before adopting anything: "shares" blurred
every voter's confusion row toward the others' (a 2-1 item counts 2/3 and 1/3), which
raised the estimated pool strength and broke three unit tests with simulated spammers
(Dawid-Skene no longer beat majority vote there). The candidate became ``"split"``:
majority vote with ties split evenly (a non-tied item counts fully for its majority
class, as before; a tied item 1/m for each of its m top classes). Both are reported
below; the rule is unchanged and is applied to ``"split"`` (``DS after``).

Compared, on the real crowd sets with gold (AdultContent2, BarzanMozafari,
HITspam-UsingCrowdflower) and on simulations with known truth: assay Dawid-Skene
``before`` (``prior_from="hard"``), ``after`` (``"split"``), ``shares``, classic Dawid-Skene
(``pool_strength=0, inference="point"``) and majority vote (its one-coin ``quality``).
Scores: accuracy; expected calibration error of ``quality`` (10 equal-width bins, weighted
by count); the reliability diagram's numbers (per bin: items, mean quality, accuracy);
the mean quality of one-to-one ties (items whose two top classes have equal votes).

Rule (stated in advance): the default becomes ``"shares"`` only if (1) on every real set
its accuracy is not below ``before`` by more than one standard error of the paired
difference, (2) its mean ECE over the real sets is lower than ``before``'s, and (3) on
the simulation with two equally reliable annotators its mean tie quality is in [0.4,
0.6]. Gold is never used to fit anything.

Also (issue 18 item 3, after the rule): the default against majority vote and classic
Dawid-Skene on the real sets, paired difference of per-item hits with its SE.

Run: ``nice -n 10 .venv/bin/python benchmarks/consensus_calibration.py``
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
import importlib  # noqa: E402

from _common import markdown_table, write_results  # noqa: E402

cmod = importlib.import_module("assay.collect.consensus")
from assay.collect._dawid_skene import fit_dawid_skene  # noqa: E402, I001

CROWD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "crowd"
GOLD = {
    "AdultContent2": "gold.txt",
    "BarzanMozafari": "evaluation.txt",
    "HITspam-UsingCrowdflower": "gold.txt",
}
BINS = 10


def load(name: str) -> tuple[pd.DataFrame, pd.Series]:
    """Annotations (item, annotator, label) and the gold labels by item."""
    df = pd.read_csv(
        CROWD / name / "labels.txt",
        sep="\t",
        header=None,
        names=["annotator", "item", "label"],
        dtype=str,
    ).drop_duplicates(["item", "annotator"], keep="last")
    gold = pd.read_csv(
        CROWD / name / GOLD[name], sep="\t", header=None, names=["item", "label"], dtype=str
    ).dropna()
    return df.reset_index(drop=True), gold.set_index("item")["label"]


def simulate(
    accs: tuple[float, ...], n: int, k: int, seed: int, singles: float
) -> tuple[pd.DataFrame, pd.Series]:
    """Every annotator labels every item (errors to a per-annotator sparse confusion);
    a share ``singles`` of extra items is labelled by the first annotator only."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n + int(singles * n))
    rows = []
    for a, acc in enumerate(accs):
        conf = [rng.dirichlet(np.full(k - 1, 0.5)) for _ in range(k)]
        items = np.arange(truth.size) if a == 0 else np.arange(n)
        for i in items:
            z = int(truth[i])
            said = (
                z
                if rng.random() < acc
                else int(np.delete(np.arange(k), z)[rng.choice(k - 1, p=conf[z])])
            )
            rows.append((str(i), f"a{a}", str(said)))
    df = pd.DataFrame(rows, columns=["item", "annotator", "label"])
    return df, pd.Series(truth.astype(str), index=[str(i) for i in range(truth.size)])


def run(df: pd.DataFrame, variant: str) -> pd.DataFrame:
    """The ``labels`` table of one variant."""
    if variant == "majority":
        return cmod.consensus(df, "majority").labels
    if variant == "classic DS":
        return cmod.consensus(df, "dawid_skene", pool_strength=0, inference="point").labels
    original = cmod.fit_dawid_skene
    rule = {"DS before": "hard", "DS after": "split", "DS shares": "shares"}[variant]
    cmod.fit_dawid_skene = partial(fit_dawid_skene, prior_from=rule)  # type: ignore[assignment]
    try:
        return cmod.consensus(df, "dawid_skene").labels
    finally:
        cmod.fit_dawid_skene = original  # type: ignore[assignment]


def ties(df: pd.DataFrame) -> pd.Index:
    counts = df.groupby(["item", "label"]).size().unstack(fill_value=0).to_numpy()
    top = np.sort(counts, axis=1)[:, ::-1]
    items = df.groupby(["item", "label"]).size().unstack(fill_value=0).index
    return items[(top[:, 0] == top[:, 1]) & (top[:, 0] > 0)]


def reliability(
    quality: np.ndarray, hit: np.ndarray
) -> tuple[float, list[tuple[int, float, float]]]:
    """ECE and per-bin (items, mean quality, accuracy)."""
    edges = np.minimum((quality * BINS).astype(int), BINS - 1)
    ece, bins = 0.0, []
    for b in range(BINS):
        m = edges == b
        if m.any():
            ece += m.mean() * abs(quality[m].mean() - hit[m].mean())
            bins.append((int(m.sum()), float(quality[m].mean()), float(hit[m].mean())))
    return float(ece), bins


VARIANTS = ("DS before", "DS after", "DS shares", "classic DS", "majority")


def score(name: str, df: pd.DataFrame, gold: pd.Series) -> dict[str, Any]:
    tied = ties(df)
    out: dict[str, Any] = {"name": name, "hits": {}}
    for v in VARIANTS:
        lab = run(df, v)
        common = gold.index.intersection(lab.index)
        hit = (lab.loc[common, "label"].astype(str) == gold[common]).to_numpy(float)
        ece, bins = reliability(lab.loc[common, "quality"].to_numpy(float), hit)
        out["hits"][v] = hit
        out[v] = {
            "acc": hit.mean(),
            "ece": ece,
            "bins": bins,
            "n": len(common),
            "tie q": float(lab.loc[tied, "quality"].mean()) if len(tied) else float("nan"),
            "n ties": len(tied),
            "single q": float(lab.loc[lab["n_annotations"] == 1, "quality"].mean()),
        }
    diff = out["hits"]["DS after"] - out["hits"]["DS before"]
    out["paired"] = (float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(diff.size)))
    return out


def never_behind(real: list[dict[str, Any]]) -> list[str]:
    """Issue 18 item 3 on the real sets: the default against majority vote and classic
    Dawid-Skene, paired difference of per-item hits and its standard error."""
    lines = ["Never behind (default DS minus each anchor on the gold items; paired SE):"]
    for r in real:
        parts = []
        for anchor in ("majority", "classic DS"):
            d = r["hits"]["DS after"] - r["hits"][anchor]
            se = float(d.std(ddof=1) / np.sqrt(d.size))
            verdict = "ok" if d.mean() >= -se else "BEHIND"
            parts.append(f"vs {anchor} {d.mean():+.4f} (SE {se:.4f}, {verdict})")
        lines.append(f"- {r['name']}: " + "; ".join(parts))
    mean = {v: np.mean([r[v]["acc"] for r in real]) for v in ("DS after", "majority", "classic DS")}
    best = max(mean["majority"], mean["classic DS"])
    lines.append(
        f"- mean accuracy over the real sets: default {mean['DS after']:.4f}, majority "
        f"{mean['majority']:.4f}, classic DS {mean['classic DS']:.4f} (best anchor "
        f"{best:.4f}: {'at or above' if mean['DS after'] >= best else 'below'})."
    )
    return lines


def f(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:.3f}"


def main() -> None:
    sets: list[tuple[str, pd.DataFrame, pd.Series]] = [(n, *load(n)) for n in GOLD]
    sims = [
        ("sim: 2 annotators 0.85/0.85, k=2", (0.85, 0.85), 2000, 2),
        ("sim: 2 annotators 0.90/0.75, k=2", (0.90, 0.75), 2000, 2),
        ("sim: 2 annotators 0.85/0.85, k=5", (0.85, 0.85), 2000, 5),
        ("sim: 4 annotators 0.6-0.85, k=10", (0.85, 0.75, 0.7, 0.6), 20000, 10),
    ]
    sets += [(n, *simulate(a, size, k, seed=0, singles=0.2)) for n, a, size, k in sims]
    results = [score(n, df, g) for n, df, g in sets]
    rows = []
    for r in results:
        for v in VARIANTS:
            s = r[v]
            rows.append(
                [
                    r["name"],
                    v,
                    s["n"],
                    f(s["acc"]),
                    f(s["ece"]),
                    f(s["tie q"]),
                    s["n ties"],
                    f(s["single q"]),
                ]
            )
    body = [
        markdown_table(
            [
                "data",
                "variant",
                "gold items",
                "accuracy",
                "ECE",
                "mean quality of 1:1 ties",
                "ties",
                "mean quality, single label",
            ],
            rows,
        )
    ]
    body.append("Reliability diagrams (bin of quality: items, mean quality, accuracy):")
    rel = []
    for r in results:
        for v in ("DS before", "DS after"):
            rel.append(
                [r["name"], v, "; ".join(f"{n} @ {q:.2f} -> {a:.2f}" for n, q, a in r[v]["bins"])]
            )
    body.append(markdown_table(["data", "variant", "bins"], rel))
    real = results[: len(GOLD)]
    checks = [all(r["paired"][0] >= -r["paired"][1] for r in real)]
    checks.append(
        np.mean([r["DS after"]["ece"] for r in real])
        < np.mean([r["DS before"]["ece"] for r in real])
    )
    checks.append(0.4 <= results[len(GOLD)]["DS after"]["tie q"] <= 0.6)
    lines = ["Paired difference of accuracy, after - before (SE):"]
    lines += [f"- {r['name']}: {r['paired'][0]:+.4f} (SE {r['paired'][1]:.4f})" for r in real]
    lines.append(
        f"Rule: (1) no real set below by more than 1 paired SE: {checks[0]}; (2) mean ECE "
        f"over real sets lower ({np.mean([r['DS before']['ece'] for r in real]):.3f} -> "
        f"{np.mean([r['DS after']['ece'] for r in real]):.3f}): {checks[1]}; (3) equal-"
        f"reliability ties in [0.4, 0.6]: {checks[2]}. Adopt: **{all(checks)}**."
    )
    body.append("\n".join(lines))
    body.append("\n".join(never_behind(real)))
    write_results(
        "consensus_calibration",
        "Consensus quality: calibration before/after (issue 18)",
        "\n\n".join(body),
    )


if __name__ == "__main__":
    main()

"""Collect the latest ``benchmarks/results/*.md`` into ``benchmarks/RESULTS.md``.

Each benchmark script writes its own results file (with the command that made it and
the anchor measured in the same run); this script only assembles them, in lifecycle
order, so that RESULTS.md always shows the latest numbers.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
ORDER = [
    "store",
    "agreement",
    "agreement_kinds",
    "consensus",
    "consensus_selection",
    "consensus_kinds",
    "consensus_calibration",
    "consensus_with_model",
    "box_agreement",
    "labeling",
    "labeling_web",
    "label_studio_roundtrip",
    "speech",
    "transcript_normalisation",
    "speech_pocketsphinx",
    "speech_issues",
    "speech_loop",
    "label_issues",
    "label_issues_kinds",
    "label_issues_kinds_seeds",
    "knn",
    "audit",
    "slices",
    "curves",
    "detection_map",
    "box_issues",
    "detection_task",
    "detection_curve",
    "iteration",
    "efficacy_grid",
    "efficacy_ceiling",
    "efficacy_guard",
    "drift",
    "box_drift",
    "estimate_regression",
    "streams",
    "object_store",
    "object_store_read_path",
    "scale_import",
    "monitor_ingest",
    "scale_dask",
    "scaling",
    "startup",
    "web",
    "web-load",
]
#: Per-run files that ``scaling.md`` merges (each group's own output, kept for the record).
MERGED = {
    "scaling_10m", "scaling_audit", "scaling_audit200k", "scaling_consensus", "scaling_agreement",
    "scaling_consensus_10m",
}
INTRO = """# Benchmark results

Every performance or quality claim of assay has a script in `benchmarks/` that measures
the anchor (cleanlab, crowd-kit, sliceline, Evidently, river, pyarrow, ...) in the same
run and prints the ratio. These machines are shared and noisy (2 cores, often loaded by
other work): read medians and ratios, not absolute times. Each section names the command
that produced it; rerun it to refresh the section, then `python benchmarks/make_results.py`.
"""


def main() -> None:
    parts = [INTRO]
    files = {
        p.stem: p
        for p in (HERE / "results").glob("*.md")
        if not p.stem.endswith("-quick") and p.stem not in MERGED
    }
    for name in ORDER + sorted(set(files) - set(ORDER)):
        if name in files:
            parts.append(files[name].read_text().strip())
    (HERE / "RESULTS.md").write_text("\n\n".join(parts) + "\n")


if __name__ == "__main__":
    main()

"""``assay demo``: the data-centric story on real data that ships with scikit-learn.

The demo builds a workspace from scikit-learn's handwritten digits (1,797 real 8x8
images, no download) and walks through every phase that assay implements, one
chapter each. Every chapter prints what it did and adds to the HTML report.

``assay demo --task regression`` (scikit-learn's diabetes data) and ``--task
multilabel`` (the digits with tags that describe them) tell the same story for the
other kinds of label: see :mod:`assay.demo.kinds`.
"""

from __future__ import annotations

from assay.demo.story import DemoResult, run_demo

__all__ = ["DemoResult", "run_demo"]

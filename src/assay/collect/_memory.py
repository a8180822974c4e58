"""One memory limit for the collect statistics, checked before any memory is used.

Agreement and consensus keep ``k x k`` tables per annotator (or annotator pair) and
dense item x class tables: with tens of thousands of classes (free-text labels taken
for classes) that is tens of GiB. Each estimates its peak first and calls
:func:`check_memory`, which refuses above :data:`MAX_MEMORY` in one line.
"""

from __future__ import annotations

from assay.exceptions import InputError

__all__ = ["CLASSES_FIX", "MAX_MEMORY", "check_memory"]

#: The most memory (bytes) the statistics may need; more is refused before any is used.
MAX_MEMORY = 4 * 2**30

#: What to do when the classes are too many (the CLI words ``transcript_agreement``).
CLASSES_FIX = (
    "check that the label column holds classes: labels that are free text "
    "(transcriptions) need text agreement (transcript_agreement), and rare classes "
    "can be merged."
)


def check_memory(need: int, *, limit: int, what: str, why: str, fix: str) -> None:
    """Refuse a computation whose estimated peak ``need`` (bytes) exceeds ``limit``.

    Parameters
    ----------
    need, limit : int
        Estimated bytes and the most allowed (callers pass their module's
        ``MAX_MEMORY``, so that it can be changed per module).
    what : str
        The computation, e.g. ``"agreement over 40000 classes"``.
    why : str
        What takes the memory, e.g. ``"a 40000 x 40000 table for each of 3 pairs"``.
    fix : str
        What to do instead.

    Raises
    ------
    InputError
        ``what needs about X GiB of memory (why), over the limit of L GiB; fix``.
    """
    if need <= limit:
        return
    raise InputError(
        f"{what} needs about {need / 2**30:.1f} GiB of memory ({why}), over the "
        f"limit of {limit / 2**30:g} GiB; {fix}"
    )

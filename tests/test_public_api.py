"""The public API is exactly ``assay.__all__`` (httpx's exported-members test)."""

from __future__ import annotations

import assay


def test_all_names_exist_and_are_public() -> None:
    for name in assay.__all__:
        assert hasattr(assay, name), name
    public = {n for n in dir(assay) if not n.startswith("_") and not _is_submodule(n)}
    assert public <= set(assay.__all__), public - set(assay.__all__)


def test_exported_members_belong_to_assay() -> None:
    for name in assay.__all__:
        if name.startswith("__"):
            continue
        member = getattr(assay, name)
        assert getattr(member, "__module__", "").startswith("assay."), name


def _is_submodule(name: str) -> bool:
    """Subpackages and the ``from __future__`` marker are not API members."""
    import __future__

    import types

    member = getattr(assay, name)
    return isinstance(member, (types.ModuleType, __future__._Feature))

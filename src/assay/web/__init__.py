"""The web app of assay: ``create_app(workspace)``, served by ``assay ui``."""

from __future__ import annotations

from assay.web.app import create_app

__all__ = ["create_app"]

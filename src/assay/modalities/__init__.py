"""Modalities: load, featurize and render tabular rows, text, images and audio.

>>> from assay.modalities import get_modality
>>> get_modality("text", method="tfidf").featurize(["a cat", "a dog"]).shape[0]
2
"""

from __future__ import annotations

from assay.modalities.audio import AudioModality, audio_features
from assay.modalities.base import (
    Modality,
    available_modalities,
    get_modality,
    item_renderer,
    register_modality,
)
from assay.modalities.image import ImageModality, image_features
from assay.modalities.tabular import TabularModality
from assay.modalities.text import TextModality, text_features

__all__ = [
    "AudioModality",
    "ImageModality",
    "Modality",
    "TabularModality",
    "TextModality",
    "audio_features",
    "available_modalities",
    "get_modality",
    "image_features",
    "item_renderer",
    "register_modality",
    "text_features",
]

register_modality("tabular", TabularModality)
register_modality("text", TextModality)
register_modality("image", ImageModality)
register_modality("audio", AudioModality)

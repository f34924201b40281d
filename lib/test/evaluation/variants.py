"""Test-time variants of one trained tracker: which sentences it is told (``language``: given | shuffled | none,
``language_modes.py``), whether its tokens halt (``halting``: on | off, AVLTrack with ``MODEL.HALTING``), whether
a low-light enhancer sees the crops first (``enhancer``: none | the weights file's stem, e.g. ``Epoch193``: MLKD's
teacher) and what runs the network (``backend``: pytorch | onnxruntime, ``lib/deploy``). A variant other than the
default gets its own results folder, ``<param>-lang_<mode>``, ``<param>-halting_off``, ``<param>-enh_<stem>``,
``<param>-backend_onnxruntime`` or several (``<param>-lang_none-halting_off``), and is part of the
tracker's identity in ``run.json``, so the runs of one model never mix with or skip each other."""
from __future__ import annotations

# variant -> (default, folder tag); the folder suffixes follow this order
VARIANTS = {"language": ("given", "lang"), "halting": ("on", "halting"), "enhancer": ("none", "enh"),
            "backend": ("pytorch", "backend")}


def results_param(param: str, **variants: str) -> str:
    """The results folder's ``<param>`` part: the config name, with a ``-<tag>_<value>`` per non-default variant."""
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise ValueError(f"unknown test-time variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    return param + "".join(f"-{tag}_{variants[name]}" for name, (default, tag) in VARIANTS.items()
                           if variants.get(name, default) != default)

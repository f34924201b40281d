"""Registry of test benchmarks: ``get_dataset(name) -> list[Sequence]``.

Readers are imported and run only when asked for (lazy). ``vot:<folder>`` reads any VOT-layout folder.
Roots come from ``lib.paths.dataset_root``.
"""
from __future__ import annotations

import importlib
from typing import Callable

from lib.test.evaluation.data import Sequence

# name -> (module under lib.test.evaluation, function, keyword arguments)
_REGISTRY: dict[str, tuple[str, str, dict]] = {
    "synth_uav": ("webuav_layout", "synth_uav", {}),
    "synth_uav_night": ("webuav_layout", "synth_uav", {"night": True}),
    "synth_uav_val": ("webuav_layout", "synth_uav", {"split": "val"}),  # for choosing models, never for scores
    "synth_uav_val_night": ("webuav_layout", "synth_uav", {"split": "val", "night": True}),
    "webuav3m": ("webuav_layout", "webuav3m", {}),
    "lasot": ("language_sets", "lasot", {}),
    "tnl2k": ("language_sets", "tnl2k", {}),
    "otb99_lang": ("language_sets", "otb99_lang", {}),
    "dtb70": ("uav", "dtb70", {}),
    "dtb70_nlp": ("uav", "dtb70_nlp", {}),
    "uav123": ("uav", "uav123", {}),
    "uav123_10fps": ("uav", "uav123_10fps", {}),
    "uav20l": ("uav", "uav20l", {}),
    "uav20l_nlp": ("uav", "uav20l_nlp", {}),
    "uavdt": ("uav", "uavdt", {}),
    "uavdt_nlp": ("uav", "uavdt_nlp", {}),
    "visdrone": ("uav", "visdrone", {}),
    "visdrone_nlp": ("uav", "visdrone_nlp", {}),
    "uavdark135": ("uav", "uavdark135", {}),
    "nat2021": ("uav", "nat2021", {}),
    "nat2021_l": ("uav", "nat2021", {"long_term": True}),
    "darktrack2021": ("uav", "darktrack2021", {}),
    "darktrack2021_val": ("uav", "darktrack2021", {"part": "val"}),  # for choosing models, never for scores
    "got10k_val": ("uav", "got10k_val", {}),
    "got10k_test": ("uav", "got10k_test", {}),
}

VOT_PREFIX = "vot:"
_ALIASES = {"webuav_3m": "webuav3m", "visdrone2019_sot_test_dev": "visdrone"}  # the release folder names


def register(name: str, module: str, function: str, **kwargs) -> None:
    _REGISTRY[name] = (module, function, kwargs)


def dataset_names() -> list[str]:
    return sorted(_REGISTRY) + [VOT_PREFIX + "<folder>"]


def _loader(name: str) -> Callable[[], list[Sequence]]:
    module, function, kwargs = _REGISTRY[name]
    func = getattr(importlib.import_module(f"lib.test.evaluation.{module}"), function)
    return lambda: func(**kwargs)


def get_dataset(name: str) -> list[Sequence]:
    """The sequences of benchmark ``name`` (see ``dataset_names()``); unknown name -> KeyError listing them."""
    if name.startswith(VOT_PREFIX):
        from lib.test.evaluation.vot import vot_dataset
        return vot_dataset(name[len(VOT_PREFIX):])
    key = name.lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        raise KeyError(f"unknown dataset {name!r}; valid names: {', '.join(dataset_names())}")
    sequences = _loader(key)()
    if not sequences:  # a root that exists but holds nothing in the expected layout: never score an empty set
        module = _REGISTRY[key][0]
        raise FileNotFoundError(f"dataset {name!r}: no sequence found; check the root and its layout (README, "
                                f"'Test-side benchmarks'; reader lib/test/evaluation/{module}.py)")
    return sequences


def select_by_name(sequences: list[Sequence], names) -> list[Sequence]:
    """The sequences called ``names``, in that order; an unknown name is an error naming it (none given: all)."""
    if not names:
        return sequences
    by_name = {s.name: s for s in sequences}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise KeyError(f"no sequence named {', '.join(unknown)} in this dataset (it has {len(sequences)}, "
                       f"e.g. {', '.join(list(by_name)[:5])})")
    return [by_name[n] for n in names]

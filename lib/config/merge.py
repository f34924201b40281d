"""Strict yaml-over-defaults merging, and saving the effective config beside a run's outputs.

Every call builds a fresh config from the family's defaults: nothing global is mutated, so a training run and a
test run in one process cannot leak settings into each other.

A yaml value must fit the type of the default it replaces; anything else is a ConfigError naming the file and the
key (``TRAIN.EPOCH``, or ``DATA.TRAIN.DATASETS_RATIO[0]`` for a list element):

* bool: only true / false (1 and 0 are not booleans);
* int: an int, or a float with no fractional part (yaml reads ``6.0e+4`` as a float), stored as an int;
  ``1.5`` is an error, and so is ``true``;
* float: an int or a float (not a bool), stored as a float;
* str: a string;
* list: a list whose every element follows the rule of the default list's element type. When the default's
  elements have several types, an element may have any of them, tried in the default's order (ints and floats
  together count as float). An empty default list takes its element type from the family's
  ``LIST_ELEMENT_TYPES`` (``{"MODEL.BACKBONE.CE_LOC": int}``); without one its elements are not checked;
* ``null`` is refused wherever the default is not null (write 0, false or '' instead).

After the types, :func:`lib.config.checks.config_problems` checks what types cannot: dataset names exist, each
DATASETS_NAME list has one DATASETS_RATIO per name, and token halting's settings fit the backbone.
"""
from __future__ import annotations

import copy
import importlib
import os
from collections.abc import Mapping
from pathlib import Path

import yaml
from easydict import EasyDict

from lib.config.checks import config_problems
from lib.paths import PROJECT_ROOT
from lib.utils.io import atomic_write


class ConfigError(ValueError):
    """A yaml file names a key that does not exist, or gives a value of the wrong type."""


class _Mismatch(Exception):
    """A value that does not fit the expected type (turned into a ConfigError naming file and key)."""


def _scalar(expected: type, value):
    if expected is bool:
        if isinstance(value, bool):
            return value
    elif expected is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif expected is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif isinstance(value, expected):
        return value
    raise _Mismatch


def _element_types(default: list, declared: type | None) -> tuple[type, ...]:
    """The types an element of a list with this default may have (empty: not checked)."""
    if not default:
        return (declared,) if declared is not None else ()
    kinds = list(dict.fromkeys(type(v) for v in default))
    if float in kinds and int in kinds:
        kinds.remove(int)  # a float element accepts ints: [1, 0.5] is a list of floats
    return tuple(kinds)


def _element(kinds: tuple[type, ...], value):
    for kind in kinds:
        try:
            return _scalar(kind, value)
        except _Mismatch:
            continue
    raise _Mismatch


def _type_names(kinds) -> str:
    return " or ".join(k.__name__ for k in kinds)


def _checked_value(default, value, where: str, source: str, element_types: dict):
    """``value`` converted to the type of ``default`` (see the rules above), or a ConfigError naming the key."""
    if default is None:
        return value
    if isinstance(default, (list, tuple)):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{source}: '{where}' should be a list like {default!r}, got {value!r}")
        kinds = _element_types(list(default), element_types.get(where))
        if not kinds:
            return list(value)
        out = []
        for index, item in enumerate(value):
            try:
                out.append(_element(kinds, item))
            except _Mismatch:
                raise ConfigError(f"{source}: '{where}[{index}]' should be {_type_names(kinds)}, got {item!r} "
                                  f"(in {list(value)!r})") from None
        return out
    try:
        return _scalar(type(default), value)
    except _Mismatch:
        hint = " (a whole number)" if type(default) is int else ""
        raise ConfigError(f"{source}: '{where}' should be {type(default).__name__}{hint} like {default!r}, "
                          f"got {value!r}") from None


def _merge(base: EasyDict, override: dict, source: str, prefix: str = "", element_types: dict | None = None) -> None:
    element_types = element_types or {}
    for key, value in override.items():
        where = f"{prefix}{key}"
        if key not in base:
            raise ConfigError(f"{source}: unknown key '{where}'; valid keys at this level: "
                              f"{', '.join(sorted(base))}")
        default = base[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: '{where}' must be a mapping with keys {', '.join(sorted(default))}")
            _merge(default, value, source, where + ".", element_types)
        else:
            base[key] = _checked_value(default, value, where, source, element_types)


def flatten(tree: Mapping, prefix: str = "") -> dict:
    """{dotted key: value} of every non-mapping value of a nested config (``{"TRAIN.EPOCH": 300, ...}``)."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _family_module(family: str):
    """``lib/config/<family>/config.py``: the defaults of a tracker family (``lib/families.py``)."""
    try:
        return importlib.import_module(f"lib.config.{family}.config")
    except ModuleNotFoundError:
        raise ConfigError(f"unknown config family {family!r} (no lib/config/{family}/config.py; families are "
                          f"listed in lib/families.py)") from None


def merge_yaml(cfg: EasyDict, yaml_path: str | os.PathLike, family: str | None = None) -> EasyDict:
    """Merge ``yaml_path`` into ``cfg`` (in place) and return it; unknown keys and wrong types are errors, and so is
    a config that names an unknown dataset (:func:`lib.config.checks.config_problems`). ``family`` supplies the
    element types of empty default lists."""
    yaml_path = Path(yaml_path)
    try:
        override = yaml.safe_load(yaml_path.read_text()) or {}
    except FileNotFoundError:
        raise FileNotFoundError(f"config file not found: {yaml_path}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{yaml_path}: not valid yaml: {err}") from None
    if not isinstance(override, dict):
        raise ConfigError(f"{yaml_path}: top level must be a mapping")
    element_types = getattr(_family_module(family), "LIST_ELEMENT_TYPES", {}) if family else {}
    _merge(cfg, override, str(yaml_path), element_types=element_types)
    problems = config_problems(cfg)
    if problems:
        raise ConfigError(f"{yaml_path}: " + "; ".join(problems))
    return cfg


def experiment_yaml(family: str, name: str) -> Path:
    """``experiments/<family>/<name>.yaml``; ``name`` may also be a path to a yaml file."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    path = PROJECT_ROOT / "experiments" / family / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in path.parent.glob("*.yaml")) if path.parent.is_dir() else []
        raise FileNotFoundError(f"config {name!r} not found at {path}; configs of '{family}': {', '.join(known)}")
    return path


def load_config(family: str, name: str | None = None) -> EasyDict:
    """Fresh defaults of ``lib.config.<family>.config`` merged with ``experiments/<family>/<name>.yaml``."""
    cfg = EasyDict(copy.deepcopy(_family_module(family).DEFAULTS))
    if name is not None:
        merge_yaml(cfg, experiment_yaml(family, name), family)
    return cfg


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def config_to_yaml(cfg: dict) -> str:
    return yaml.safe_dump(_plain(cfg), sort_keys=False)


def save_config(cfg: dict, path: str | os.PathLike) -> Path:
    """Write the effective config atomically (temp file + rename), so a crash never leaves half a file."""
    return atomic_write(path, config_to_yaml(cfg))

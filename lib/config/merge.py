"""Strict yaml-over-defaults merging, and saving the effective config beside a run's outputs.

Every call builds a fresh config from the family's defaults: nothing global is mutated, so a training run and a
test run in one process cannot leak settings into each other.
"""
from __future__ import annotations

import copy
import importlib
import os
from pathlib import Path

import yaml
from easydict import EasyDict

from lib.paths import PROJECT_ROOT
from lib.utils.io import atomic_write


class ConfigError(ValueError):
    """A yaml file names a key that does not exist, or gives a value of the wrong type."""


def _type_ok(default, value) -> bool:
    if default is None or value is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))


def _merge(base: EasyDict, override: dict, source: str, prefix: str = "") -> None:
    for key, value in override.items():
        where = f"{prefix}{key}"
        if key not in base:
            raise ConfigError(f"{source}: unknown key '{where}'; valid keys at this level: "
                              f"{', '.join(sorted(base))}")
        default = base[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: '{where}' must be a mapping with keys {', '.join(sorted(default))}")
            _merge(default, value, source, where + ".")
        elif not _type_ok(default, value):
            raise ConfigError(f"{source}: '{where}' should be {type(default).__name__} like {default!r}, "
                              f"got {value!r}")
        else:
            base[key] = float(value) if isinstance(default, float) and isinstance(value, int) else value


def merge_yaml(cfg: EasyDict, yaml_path: str | os.PathLike) -> EasyDict:
    """Merge ``yaml_path`` into ``cfg`` (in place) and return it; unknown keys and wrong types are errors."""
    yaml_path = Path(yaml_path)
    try:
        override = yaml.safe_load(yaml_path.read_text()) or {}
    except FileNotFoundError:
        raise FileNotFoundError(f"config file not found: {yaml_path}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{yaml_path}: not valid yaml: {err}") from None
    if not isinstance(override, dict):
        raise ConfigError(f"{yaml_path}: top level must be a mapping")
    _merge(cfg, override, str(yaml_path))
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
    try:
        module = importlib.import_module(f"lib.config.{family}.config")
    except ModuleNotFoundError:
        raise ConfigError(f"unknown config family {family!r} (no lib/config/{family}/config.py)") from None
    cfg = EasyDict(copy.deepcopy(module.DEFAULTS))
    if name is not None:
        merge_yaml(cfg, experiment_yaml(family, name))
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

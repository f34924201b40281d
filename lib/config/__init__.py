"""Configs: per-family defaults (easydict) overridden by one yaml file per trained model, merged strictly."""
from lib.config.merge import ConfigError, config_to_yaml, load_config, merge_yaml, save_config

__all__ = ["ConfigError", "config_to_yaml", "load_config", "merge_yaml", "save_config"]

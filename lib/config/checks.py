"""Checks of a merged config that its types cannot express, run whenever a yaml file is merged (so the error names
that file) and before any data is touched."""
from __future__ import annotations

DATA_PARTS = ("TRAIN", "VAL")


def _dataset_names() -> list[str]:
    # imported here: the registry pulls in every reader (and torch); lib.config must stay importable without them
    from lib.train.dataset.registry import dataset_names
    return dataset_names()


def config_problems(cfg) -> list[str]:
    """What is wrong with ``cfg`` (empty when nothing is): unknown dataset names in DATA.<part>.DATASETS_NAME, and
    DATASETS_NAME / DATASETS_RATIO lists of different lengths. Each problem names its key."""
    problems = []
    data = cfg.get("DATA", {})
    for part in DATA_PARTS:
        spec = data.get(part)
        if not spec or "DATASETS_NAME" not in spec:
            continue
        names = list(spec.DATASETS_NAME)
        if names:
            valid = _dataset_names()
            unknown = [n for n in names if n not in valid]
            if unknown:
                problems.append(f"DATA.{part}.DATASETS_NAME: unknown dataset(s) {', '.join(map(repr, unknown))}; "
                                f"valid names: {', '.join(valid)}")
        ratios = spec.get("DATASETS_RATIO")
        if ratios is not None and len(ratios) != len(names):
            problems.append(f"DATA.{part} has {len(names)} names in DATASETS_NAME but {len(ratios)} ratios in "
                            f"DATASETS_RATIO (one ratio per dataset)")
    return problems

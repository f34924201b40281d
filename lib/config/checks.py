"""Checks of a merged config that its types cannot express, run whenever a yaml file is merged (so the error names
that file) and before any data is touched."""
from __future__ import annotations

DATA_PARTS = ("TRAIN", "VAL")


def _dataset_names() -> list[str]:
    # imported here: the registry pulls in every reader (and torch); lib.config must stay importable without them
    from lib.train.dataset.registry import dataset_names
    return dataset_names()


def halting_problems(cfg) -> list[str]:
    """Token halting (MODEL.HALTING, AVLTrack) with settings it cannot run with."""
    halting = cfg.get("MODEL", {}).get("HALTING")
    if not halting or not halting.get("ENABLED"):
        return []
    problems = []
    backbone = cfg.MODEL.BACKBONE
    if backbone.get("CE_LOC"):
        problems.append(f"MODEL.HALTING.ENABLED cannot be combined with candidate elimination (MODEL.BACKBONE.CE_LOC "
                        f"{list(backbone.CE_LOC)}): set CE_LOC and CE_KEEP_RATIO to []")
    if not 0 < halting.get("EPS", 0.01) < 1:
        problems.append(f"MODEL.HALTING.EPS must be in (0, 1), got {halting.EPS}")
    target = cfg.get("TRAIN", {}).get("HALT_TARGET_DEPTH")
    if target is not None and not 1 <= target <= backbone.DEPTH:
        problems.append(f"TRAIN.HALT_TARGET_DEPTH {target} is not a depth of this backbone: 1..{backbone.DEPTH} "
                        f"(MODEL.BACKBONE.DEPTH)")
    return problems


def mlkd_problems(cfg) -> list[str]:
    """MLKD's per-student lists of different lengths, unknown distillation kinds, gate or election criterion."""
    mlkd = cfg.get("MLKD")
    if not mlkd:
        return []
    # imported here: lib.config must stay importable without torch
    from lib.train.actors.mlkd import ELECTION_CRITERIA
    from lib.train.losses.distill import DISTILL_KINDS, GATE_MODES
    problems = []
    students = mlkd.STUDENTS
    lengths = {key: len(values) for key, values in students.items()}
    if len(set(lengths.values())) != 1 or not lengths.get("KIND"):
        problems.append(f"MLKD.STUDENTS: every list needs one entry per student, got lengths {lengths}")
    bad = [k for k in students.KIND if k not in DISTILL_KINDS]
    if bad:
        problems.append(f"MLKD.STUDENTS.KIND: unknown kinds {bad}; expected {', '.join(DISTILL_KINDS)}")
    for key, mode in (("MLKD.GATE", mlkd.GATE), ("MLKD.MUTUAL.GATE", mlkd.MUTUAL.GATE)):
        if mode not in GATE_MODES:
            problems.append(f"{key} {mode!r}: expected one of {', '.join(GATE_MODES)}")
    for key in ("PRETRAIN_FILE", "INIT_FROM"):
        if cfg.MODEL.get(key):
            problems.append(f"MODEL.{key}: an MLKD pool has one backbone per student; give each its file in "
                            f"MLKD.STUDENTS.PRETRAIN_FILE")
    if cfg.DATA.get("ENHANCER"):
        problems.append("DATA.ENHANCER: MLKD's students learn on the raw night frames; the teacher's enhancer is "
                        "MLKD.TEACHER.ENHANCER")
    if mlkd.TEACHER.FRAME_CACHE and not mlkd.TEACHER.ENHANCER:
        problems.append("MLKD.TEACHER.FRAME_CACHE caches enhanced frames but MLKD.TEACHER.ENHANCER names no enhancer")
    if mlkd.MUTUAL.ELECT not in ELECTION_CRITERIA:
        problems.append(f"MLKD.MUTUAL.ELECT {mlkd.MUTUAL.ELECT!r}: expected one of {', '.join(ELECTION_CRITERIA)}")
    return problems


def config_problems(cfg) -> list[str]:
    """What is wrong with ``cfg`` (empty when nothing is): unknown dataset names in DATA.<part>.DATASETS_NAME,
    DATASETS_NAME / DATASETS_RATIO lists of different lengths, token halting with settings it cannot run with, MLKD
    student lists that do not line up. Each problem names its key."""
    problems = halting_problems(cfg) + mlkd_problems(cfg)
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

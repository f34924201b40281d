"""One training process: ``python -m lib.train.run_training --script S --config C`` (torchrun starts one per rank).

Ranks come from torchrun's environment; seeds use the GLOBAL rank. Exit status: 0 done, 1 any unexpected error
(traceback), 2 the command or the output folder is wrong (message), 3 a non-finite loss stopped the run.
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from lib.config import ConfigError, load_config
from lib.paths import apply_cli_roots, output_root
from lib.train.admin.device import DEVICE_CHOICES, export_device_choice, select_device
from lib.train.admin.distributed import DistInfo, cleanup, init_distributed, read_env
from lib.train.optim import build_optimizer, build_scheduler, effective_lr
from lib.train.trainers import CheckpointError, CheckpointExistsError, NonFiniteLossError, RunDirs, Trainer

EXIT_USAGE = 2
EXIT_NON_FINITE = 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Train one tracker configuration (one process of the job).")
    parser.add_argument("--script", required=True, help="tracker family, e.g. ostrack (lib/config/<script>/)")
    parser.add_argument("--config", required=True, help="experiments/<script>/<config>.yaml, or a yaml path")
    parser.add_argument("--save_dir", help="output root (checkpoints/, logs/, tensorboard/); "
                                           "default TRACKING_OUTPUT_ROOT or <project>/output")
    parser.add_argument("--data_root", help="dataset root; default TRACKING_DATA_ROOT or <project>/data")
    parser.add_argument("--seed", type=int, help="overrides TRAIN.SEED")
    parser.add_argument("--resume", help="'auto' (newest checkpoint of this script/config, fresh if none) or a "
                                         "checkpoint path; without it, existing checkpoints are an error")
    parser.add_argument("--reschedule", action="store_true",
                        help="with --resume: a checkpoint trained under another schedule (other epochs, LR, "
                             "scheduler, batch...) continues on this config's schedule from its epoch instead of "
                             "being refused, e.g. to extend a finished run with --epochs")
    parser.add_argument("--device", choices=DEVICE_CHOICES, help="default: cuda:LOCAL_RANK if available, else cpu")
    parser.add_argument("--epochs", type=int, help="overrides TRAIN.EPOCH (quick runs); the schedule follows it")
    parser.add_argument("--no_progress", action="store_true",
                        help="no tqdm bar (log lines only); also off when stderr is not a terminal")
    return parser


def config_name_of(config: str) -> str:
    """Folder name of a run: the yaml file's stem when --config is a path."""
    path = Path(config)
    return path.stem if path.suffix in (".yaml", ".yml") else config


def seed_process(seed: int, rank: int) -> None:
    """Different, reproducible streams per GLOBAL rank for python, numpy and torch (CPU and all CUDA devices)."""
    derived = int(np.random.SeedSequence([seed, rank]).generate_state(1)[0])
    random.seed(derived)
    np.random.seed(derived)
    torch.manual_seed(derived)


def effective_config(args: argparse.Namespace):
    cfg = load_config(args.script, args.config)
    if args.epochs is not None:
        cfg.TRAIN.EPOCH = args.epochs
    if args.seed is not None:
        cfg.TRAIN.SEED = args.seed
    return cfg


def init_from(net: torch.nn.Module, source: str, script: str, config: str) -> None:
    """``MODEL.INIT_FROM``: the weights of a trained tracker, 'FAMILY/CONFIG' (its checkpoint at its TEST.EPOCH,
    found as tracking/test.py finds it) or a checkpoint path, loaded strictly; optimiser and schedule start fresh."""
    from lib.families import family_names
    from lib.test.tracker.build import load_tracker_weights, resolve_checkpoint
    family, _, name = str(source).partition("/")
    if family in family_names() and name and not Path(source).is_file():
        path = resolve_checkpoint(family, name)
    else:
        path = Path(source)
        if not path.is_file():
            raise ConfigError(f"config {config}: MODEL.INIT_FROM {source!r} is neither a checkpoint file nor "
                              f"'FAMILY/CONFIG' of a trained tracker (families: {', '.join(family_names())})")
    load_tracker_weights(net, path, script, config)


def build_trainer(args: argparse.Namespace, cfg, info: DistInfo, device: torch.device) -> Trainer:
    # imported here: these are the model/data side of the project, and tests substitute toy versions
    from lib.models import build_network
    from lib.train.actors import build_actor
    from lib.train.data.build import build_loaders

    seed = int(cfg.TRAIN.SEED)
    seed_process(seed, info.rank)
    loaders = build_loaders(cfg, rank=info.rank, world_size=info.world_size, seed=seed)
    if "train" not in loaders:
        raise ConfigError(f"config {args.config}: DATA.TRAIN.DATASETS_NAME is empty, nothing to train on")
    train_loader = loaders["train"][0] if isinstance(loaders["train"], (tuple, list)) else loaders["train"]
    net = build_network(cfg)
    if cfg.MODEL.get("INIT_FROM"):
        init_from(net, cfg.MODEL.INIT_FROM, args.script, args.config)
    net = net.to(device)
    actor = build_actor(args.script, net, cfg)
    optimizer = build_optimizer(net, cfg, world_size=info.world_size)
    scheduler = build_scheduler(optimizer, cfg, iters_per_epoch=len(train_loader))
    dirs = RunDirs.for_run(output_root(), args.script, config_name_of(args.config))
    return Trainer(actor, loaders, optimizer, scheduler, cfg, dirs, device, dist_info=info, script=args.script,
                   config_name=config_name_of(args.config),
                   progress=not args.no_progress and sys.stderr.isatty())  # no bar in redirected output


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be >= 1, got {args.epochs}")
    if args.reschedule and args.resume is None:
        parser.error("--reschedule needs --resume (it changes the schedule of a resumed run)")
    apply_cli_roots(args.data_root, args.save_dir)
    export_device_choice(args.device)
    device = select_device(args.device, read_env().local_rank)
    info = init_distributed(device)
    prefix = f"[rank {info.rank}] " if info.distributed else ""
    try:
        cfg = effective_config(args)
        if info.is_main and cfg.TRAIN.get("LR_SCALING", "none") != "none":
            print(f"TRAIN.LR {cfg.TRAIN.LR} scaled by {cfg.TRAIN.LR_SCALING} rule to "
                  f"{effective_lr(cfg, info.world_size):.4g} for {info.world_size} process(es)", file=sys.stderr)
        build_trainer(args, cfg, info, device).train(resume=args.resume, reschedule=args.reschedule)
        return 0
    except NonFiniteLossError as err:
        if info.is_main:
            print(f"error: {err}", file=sys.stderr)
        return EXIT_NON_FINITE
    except (CheckpointExistsError, CheckpointError, ConfigError, FileNotFoundError) as err:
        print(f"{prefix}error: {err}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        cleanup()


if __name__ == "__main__":
    sys.exit(main())

"""Train a tracker: one process (``--mode single``), or one per GPU/CPU slot through torchrun (``--mode multiple``).

    python tracking/train.py --script ostrack --config synth_tiny [--save_dir DIR] [--resume auto]
    python tracking/train.py --script ostrack --config vitb_256_mae_ce_32x4_ep300 --mode multiple --nproc_per_node 4
    # two nodes: run on each, with --node_rank 0 / 1
    python tracking/train.py ... --mode multiple --nproc_per_node 4 --nnodes 2 --node_rank R \\
        --master_addr HOST0 --master_port 29500

Exit status: non-zero whenever training did not finish (a non-finite loss is 3; a launcher failure is torchrun's).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from typing import Sequence

from lib.paths import apply_cli_roots
from lib.train import run_training
from lib.train.admin.device import DEVICE_CHOICES, export_device_choice

# options forwarded to each training process, only when the user gave them
FORWARDED = ("script", "config", "save_dir", "data_root", "seed", "resume", "device", "epochs")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--script", required=True, help="tracker family, e.g. ostrack")
    parser.add_argument("--config", required=True, help="experiments/<script>/<config>.yaml name, or a yaml path")
    parser.add_argument("--mode", choices=("single", "multiple"), default="single",
                        help="single: this process; multiple: torchrun with --nproc_per_node processes per node")
    parser.add_argument("--nproc_per_node", type=int, help="processes per node (GPUs, or CPU ranks with gloo)")
    parser.add_argument("--nnodes", type=int, help="number of nodes (default 1)")
    parser.add_argument("--node_rank", type=int, help="this node's rank among --nnodes")
    parser.add_argument("--master_addr", help="address of node 0 (several nodes)")
    parser.add_argument("--master_port", type=int, help="free port on node 0 (default: torchrun picks one when "
                                                        "there is one node)")
    parser.add_argument("--save_dir", help="output root for checkpoints/, logs/, tensorboard/")
    parser.add_argument("--data_root", help="dataset root")
    parser.add_argument("--seed", type=int, help="overrides TRAIN.SEED")
    parser.add_argument("--resume", help="'auto' or a checkpoint path; without it, existing checkpoints are an error")
    parser.add_argument("--reschedule", action="store_true",
                        help="with --resume: continue a checkpoint trained under another schedule (e.g. a finished "
                             "run extended with --epochs, or a changed LR) on this config's schedule; without it "
                             "such a resume is refused")
    parser.add_argument("--device", choices=DEVICE_CHOICES, help="default: CUDA when available, else CPU")
    parser.add_argument("--epochs", type=int, help="overrides TRAIN.EPOCH (quick runs)")
    parser.add_argument("--no_progress", action="store_true", help="no tqdm bar (log lines only)")
    return parser


def forwarded_args(args: argparse.Namespace) -> list[str]:
    out = []
    for name in FORWARDED:
        value = getattr(args, name)
        if value is not None:
            out += [f"--{name}", str(value)]
    for flag in ("reschedule", "no_progress"):
        if getattr(args, flag):
            out.append(f"--{flag}")
    return out


def torchrun_command(args: argparse.Namespace) -> list[str]:
    """``python -m torch.distributed.run ... -m lib.train.run_training ...`` with only the options given."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(args.nproc_per_node)]
    multi_node = args.nnodes is not None and args.nnodes > 1
    if not multi_node and args.master_addr is None and args.master_port is None:
        cmd.append("--standalone")  # one node: a local rendezvous on a free port (two runs never collide)
    for name in ("nnodes", "node_rank", "master_addr", "master_port"):
        value = getattr(args, name)
        if value is not None:
            cmd += [f"--{name}", str(value)]
    return cmd + ["-m", "lib.train.run_training"] + forwarded_args(args)


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    launcher = [n for n in ("nproc_per_node", "nnodes", "node_rank", "master_addr", "master_port")
                if getattr(args, n) is not None]
    if args.mode == "single" and launcher:
        parser.error(f"--{', --'.join(launcher)} need(s) --mode multiple")
    if args.mode == "multiple" and (args.nproc_per_node is None or args.nproc_per_node < 1):
        parser.error("--mode multiple needs --nproc_per_node N (N >= 1)")
    if args.nnodes is not None and args.nnodes > 1 and (args.node_rank is None or args.master_addr is None):
        parser.error("--nnodes > 1 needs --node_rank and --master_addr (and the same --master_port on every node)")
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be >= 1, got {args.epochs}")
    if args.reschedule and args.resume is None:
        parser.error("--reschedule needs --resume (it changes the schedule of a resumed run)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    # exported as environment variables, so torchrun's children resolve the same roots and device
    apply_cli_roots(args.data_root, args.save_dir)
    export_device_choice(args.device)
    if args.mode == "single":
        return run_training.main(forwarded_args(args))
    cmd = torchrun_command(args)
    print("launching: " + " ".join(cmd), file=sys.stderr)
    code = subprocess.run(cmd, check=False).returncode
    if code != 0:
        print(f"error: training failed (torchrun exit status {code}); see the messages above and "
              f"the run's log file", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())

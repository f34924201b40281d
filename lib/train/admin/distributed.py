"""Process-group setup from torchrun's environment, and the few collectives the trainer needs.

Ranks come from RANK / LOCAL_RANK / WORLD_SIZE (set by torchrun), never from a ``--local_rank`` argument. The
GLOBAL rank decides seeds and rank-0 duties (the reference used the local rank, so every node's first process wrote
checkpoints and all nodes drew the same samples). Every helper is a no-op in a single process.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    local_world_size: int = 1

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} is not an integer") from None


def read_env() -> DistInfo:
    """The process's place in the job, from torchrun's variables (a plain ``python`` run is rank 0 of 1)."""
    world_size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    local_world_size = _env_int("LOCAL_WORLD_SIZE", world_size)
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"RANK={rank} is not in [0, WORLD_SIZE={world_size})")
    return DistInfo(rank, local_rank, world_size, local_world_size)


def backend_for(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def init_distributed(device: torch.device, timeout_minutes: float = 30.0) -> DistInfo:
    """Join the process group when WORLD_SIZE > 1 (env:// rendezvous from MASTER_ADDR/MASTER_PORT)."""
    info = read_env()
    if info.distributed and not dist.is_initialized():
        for name in ("MASTER_ADDR", "MASTER_PORT"):
            if not os.environ.get(name):
                raise RuntimeError(f"WORLD_SIZE={info.world_size} but {name} is not set: launch with torchrun "
                                   f"(tracking/train.py --mode multiple) or set it yourself")
        dist.init_process_group(backend=backend_for(device), init_method="env://", rank=info.rank,
                                world_size=info.world_size, timeout=timedelta(minutes=timeout_minutes))
    return info


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def get_rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    return get_rank() == 0


def barrier() -> None:
    if not is_distributed():
        return
    if dist.get_backend() == "nccl":
        dist.barrier(device_ids=[torch.cuda.current_device()])
    else:
        dist.barrier()


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum over ranks, in place and returned (the tensor must live on the backend's device)."""
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def all_reduce_mean(tensor: torch.Tensor) -> torch.Tensor:
    """Mean over ranks, in place and returned."""
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        tensor /= dist.get_world_size()
    return tensor


def all_gather_cat(tensor: torch.Tensor) -> torch.Tensor:
    """Every rank's ``tensor`` concatenated along dim 0, in rank order, with gradients flowing back to each rank's
    own part (``torch.distributed.nn``'s autograd all-gather); the tensor itself in a single process.

    Used for batch-wide losses (NT-Xent) over the global batch. If every rank computes the same loss on the
    gathered tensors, each rank's part gets the gradient world_size times (the backward sums over ranks) and DDP's
    average brings it back to the gradient of that one loss. Every rank must pass the same shape."""
    if not is_distributed():
        return tensor
    from torch.distributed.nn.functional import all_gather  # autograd-aware
    return torch.cat(all_gather(tensor.contiguous()), dim=0)


def all_gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj`` (picklable), in rank order; ``[obj]`` in a single process."""
    if not is_distributed():
        return [obj]
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, obj)
    return gathered


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """``src``'s ``obj`` on every rank."""
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()

"""The training engine on a toy actor/network/dataset (tests/_toy_training.py): optimizer groups, LR schedule and
scaling, checkpoint files, bit-identical stop-and-resume, non-finite loss, refusal to overwrite a run, logs, and
the per-process entry point and launcher."""
from __future__ import annotations

import json
import math
import os
import sys
import types

import pytest
import torch
import yaml

from _toy_training import ToyActor, ToyNet, ToyPairs, build_toy_trainer, toy_config
from lib.config import ConfigError
from lib.train.data import build_loader
from lib.train.optim import build_optimizer, build_scheduler, effective_lr, lr_factor
from lib.train.trainers import CheckpointError, CheckpointExistsError, NonFiniteLossError, list_checkpoints
from lib.train.trainers import checkpoint as ckpt


@pytest.fixture(autouse=True)
def one_thread():
    # determinism and speed on a 2-core machine
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def final_weights(trainer) -> dict:
    return {k: v.clone() for k, v in trainer.net.state_dict().items()}


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"weights differ: {different}"


# -- optimizer and schedule ------------------------------------------------------------------------------------

def test_parameter_groups_backbone_multiplier_and_no_decay():
    cfg = toy_config(LR=1e-3, BACKBONE_MULTIPLIER=0.1, WEIGHT_DECAY=0.05)
    net = ToyNet()
    net.head.bias.requires_grad_(False)  # frozen parameters are left out
    opt = build_optimizer(net, cfg, world_size=1)
    groups = {g["name"]: g for g in opt.param_groups}
    names = {id(p): n for n, p in net.named_parameters()}
    members = {key: sorted(names[id(p)] for p in g["params"]) for key, g in groups.items()}
    assert members == {"head": ["head.weight"],
                       "backbone": ["backbone.proj.weight"],
                       "backbone_no_decay": ["backbone.norm.bias", "backbone.norm.weight", "backbone.pos_embed",
                                             "backbone.proj.bias"]}
    assert groups["head"]["lr"] == pytest.approx(1e-3) and groups["head"]["weight_decay"] == 0.05
    assert groups["backbone"]["lr"] == pytest.approx(1e-4) and groups["backbone"]["weight_decay"] == 0.05
    assert groups["backbone_no_decay"]["lr"] == pytest.approx(1e-4)
    assert groups["backbone_no_decay"]["weight_decay"] == 0.0


def test_linear_lr_scaling_follows_global_batch_and_none_keeps_lr():
    cfg = toy_config(LR=4e-4, BATCH_SIZE=32, LR_REFERENCE_BATCH=128)
    assert effective_lr(cfg, world_size=1) == pytest.approx(4e-4)  # "none": as written, whatever the world size
    cfg.TRAIN.LR_SCALING = "linear"
    assert effective_lr(cfg, world_size=4) == pytest.approx(4e-4)
    assert effective_lr(cfg, world_size=1) == pytest.approx(1e-4)
    assert effective_lr(cfg, world_size=8) == pytest.approx(8e-4)
    opt = build_optimizer(ToyNet(), cfg, world_size=2)
    assert {g["name"]: g["lr"] for g in opt.param_groups}["head"] == pytest.approx(2e-4)
    cfg.TRAIN.LR_SCALING = "sqrt"
    with pytest.raises(ConfigError, match="LR_SCALING"):
        effective_lr(cfg, 1)


def scheduled_lrs(cfg, iters_per_epoch: int) -> list[float]:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.TRAIN.LR)
    sched = build_scheduler(opt, cfg, iters_per_epoch)
    lrs = []
    for _ in range(cfg.TRAIN.EPOCH * iters_per_epoch):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def test_warmup_then_step_decay():
    cfg = toy_config(epochs=6, LR=1.0)
    cfg.TRAIN.SCHEDULER.update({"TYPE": "step", "WARMUP_EPOCHS": 0.5, "DECAY_EPOCH": 4, "DECAY_RATE": 0.1})
    lrs = scheduled_lrs(cfg, iters_per_epoch=10)
    assert lrs[:5] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])  # linear ramp over 5 iterations
    assert lrs[5:40] == pytest.approx([1.0] * 35)
    assert lrs[40:] == pytest.approx([0.1] * 20)  # decayed once 4 epochs are complete


def test_cosine_reaches_min_ratio_on_last_iteration():
    cfg = toy_config(epochs=4, LR=2.0)
    cfg.TRAIN.SCHEDULER.update({"TYPE": "cosine", "WARMUP_EPOCHS": 1.0, "MIN_LR_RATIO": 0.05})
    lrs = scheduled_lrs(cfg, iters_per_epoch=5)
    assert lrs[4] == pytest.approx(2.0)  # end of warm-up: full LR
    assert lrs[-1] == pytest.approx(0.1)  # 2.0 x 0.05 at the last iteration
    middle = 5 + (19 - 5) // 2
    assert lrs[middle] == pytest.approx(0.1 + (2.0 - 0.1) * 0.5)
    assert all(a >= b for a, b in zip(lrs[4:], lrs[5:]))  # monotone after warm-up
    assert lr_factor(0, 5, 4, "cosine") == pytest.approx(1.0)  # no warm-up: starts at the full LR


# -- checkpoint files ------------------------------------------------------------------------------------------

def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    target = ckpt.checkpoint_path(tmp_path, 3)

    def broken_save(obj, handle):
        handle.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_checkpoint(target, {"format": ckpt.CHECKPOINT_FORMAT})
    assert list(tmp_path.iterdir()) == []  # neither the target nor the temp file is left


def test_pruning_keeps_last_k_milestones_and_final(tmp_path):
    for epoch in range(1, 11):
        ckpt.checkpoint_path(tmp_path, epoch).write_bytes(b"x")
    (tmp_path / ".ep0004.pth.abc.tmp").write_bytes(b"x")  # a temp file: not a checkpoint, never touched
    removed = ckpt.prune_checkpoints(tmp_path, keep_last=2, milestones=[3, 5], final_epoch=12)
    assert [e for e, _ in ckpt.list_checkpoints(tmp_path)] == [3, 5, 9, 10]
    assert len(removed) == 6 and (tmp_path / ".ep0004.pth.abc.tmp").exists()
    ckpt.checkpoint_path(tmp_path, 12).write_bytes(b"x")
    ckpt.checkpoint_path(tmp_path, 13).write_bytes(b"x")
    ckpt.prune_checkpoints(tmp_path, keep_last=1, milestones=[3], final_epoch=12)
    assert [e for e, _ in ckpt.list_checkpoints(tmp_path)] == [3, 12, 13]
    with pytest.raises(ValueError, match="CHECKPOINT_KEEP_LAST"):
        ckpt.prune_checkpoints(tmp_path, keep_last=0)


def test_trainer_checkpoints_load_weights_only_and_hold_the_run(tmp_path):
    cfg = toy_config(epochs=3, CHECKPOINT_KEEP_LAST=1, CHECKPOINT_MILESTONES=[1])
    trainer = build_toy_trainer(tmp_path, cfg)
    trainer.train()
    files = list_checkpoints(trainer.dirs.checkpoint_dir)
    assert [e for e, _ in files] == [1, 3]  # epoch 2 pruned; milestone 1 and the final epoch kept
    state = torch.load(files[-1][1], map_location="cpu", weights_only=True)  # no pickled objects
    assert state["epoch"] == 3 and set(state["net"]) == set(ToyNet().state_dict())
    assert yaml.safe_load(state["config_yaml"])["TRAIN"]["EPOCH"] == 3
    assert len(state["rng"]) == 1 and state["rng"][0]["torch"].dtype == torch.uint8
    assert [s["epoch"] for s in state["stats"]["history"]] == [1, 2, 3]
    assert not any(k.startswith("module.") for k in state["net"])
    assert (trainer.dirs.checkpoint_dir / "config.yaml").is_file()


class TwoPartNet(ToyNet):
    """Backbone and head clipped apart, like MLKD's students (``StudentPool.clip_groups``)."""

    def clip_groups(self):
        return [list(self.backbone.parameters()), list(self.head.parameters())]


def test_a_network_of_parts_has_each_part_clipped_on_its_own(tmp_path):
    clip = 1e-3
    trainer = build_toy_trainer(tmp_path, toy_config(epochs=1, GRAD_CLIP_NORM=clip), net=TwoPartNet(), val=False)
    norms = []
    trainer.optimizer.register_step_pre_hook(lambda *_: norms.append(
        [float(torch.nn.utils.get_total_norm([p.grad for p in group])) for group in trainer.clip_groups]))
    trainer.train()
    assert norms and all(n == pytest.approx([clip, clip], rel=1e-3) for n in norms)  # joint: sum of squares = clip²


def test_rng_state_round_trip():
    import random

    import numpy as np
    state = ckpt.capture_rng_state()
    expected = (random.random(), np.random.rand(), torch.rand(1))
    random.random(), np.random.rand(), torch.rand(1)
    ckpt.restore_rng_state(state)
    assert (random.random(), np.random.rand()) == expected[:2] and torch.equal(torch.rand(1), expected[2])


# -- resume ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("num_workers", [0, 1])
def test_stop_and_resume_equals_uninterrupted(tmp_path, num_workers):
    cfg = toy_config(epochs=3)
    whole = build_toy_trainer(tmp_path / "whole", cfg, init_seed=1, dropout=0.3, num_workers=num_workers)
    whole.train()

    first = build_toy_trainer(tmp_path / "split", cfg, init_seed=1, dropout=0.3, num_workers=num_workers)
    first.train(max_epochs=1)
    assert [e for e, _ in list_checkpoints(first.dirs.checkpoint_dir)] == [1]
    assert "paused after epoch 1 of 3" in first.dirs.log_file.read_text()
    # a new process: other objects, another global RNG state; everything must come from the checkpoint
    second = build_toy_trainer(tmp_path / "split", cfg, init_seed=12345, dropout=0.3, num_workers=num_workers)
    second.train(resume="auto")

    assert_same_weights(final_weights(whole), final_weights(second))
    assert second.epoch == 3 and [h["epoch"] for h in second.history] == [1, 2, 3]
    assert second.history[2]["train"] == whole.history[2]["train"]
    log = second.dirs.log_file.read_text()
    assert "resumed from" in log and "after epoch 1" in log


def test_resume_without_rng_restore_diverges_with_dropout(tmp_path, monkeypatch):
    """Control for the test above: with dropout, restoring everything but the RNG is not enough."""
    cfg = toy_config(epochs=2)
    whole = build_toy_trainer(tmp_path / "whole", cfg, init_seed=1, dropout=0.3)
    whole.train()
    build_toy_trainer(tmp_path / "split", cfg, init_seed=1, dropout=0.3).train(max_epochs=1)
    monkeypatch.setattr("lib.train.trainers.trainer.restore_rng_state", lambda state, device=None: None)
    second = build_toy_trainer(tmp_path / "split", cfg, init_seed=12345, dropout=0.3)
    second.train(resume="auto")
    a, b = final_weights(whole), final_weights(second)
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_resume_from_explicit_path_and_nothing_left_to_do(tmp_path):
    cfg = toy_config(epochs=2, CHECKPOINT_KEEP_LAST=2)
    first = build_toy_trainer(tmp_path, cfg)
    first.train()
    again = build_toy_trainer(tmp_path, cfg, init_seed=99)
    again.train(resume=first.dirs.checkpoint_dir / "ep0002.pth")
    assert_same_weights(final_weights(first), final_weights(again))
    assert "nothing to do" in again.dirs.log_file.read_text()


def test_a_killed_runs_half_written_checkpoint_is_removed_when_training_starts(tmp_path):
    import subprocess
    import sys

    from lib.utils import io
    cfg = toy_config(epochs=1)
    trainer = build_toy_trainer(tmp_path, cfg)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    # a temp file of a later epoch: no write of this run replaces it, so only the start-up cleanup removes it
    leftover = trainer.dirs.checkpoint_dir / f".ep0007.pth.{io._HOST}_{int(dead.stdout)}.abcd1234.tmp"
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(b"half a checkpoint")
    trainer.train()
    assert not leftover.exists() and (trainer.dirs.checkpoint_dir / "ep0001.pth").is_file()


def test_checkpoint_of_another_network_is_an_error_naming_the_file(tmp_path):
    cfg = toy_config(epochs=2)
    build_toy_trainer(tmp_path, cfg).train(max_epochs=1)
    other = build_toy_trainer(tmp_path, cfg)
    other.net.extra = torch.nn.Linear(1, 1)  # a network the checkpoint was not written for
    with pytest.raises(CheckpointError, match=r"(?s)ep0001\.pth does not fit.*extra\.weight"):
        other.train(resume="auto")


def test_fresh_run_into_folder_with_checkpoints_is_an_error(tmp_path):
    cfg = toy_config(epochs=2)
    build_toy_trainer(tmp_path, cfg).train(max_epochs=1)
    with pytest.raises(CheckpointExistsError) as err:
        build_toy_trainer(tmp_path, cfg).train()
    assert "--resume auto" in str(err.value) and "--save_dir" in str(err.value) and "ep0001.pth" in str(err.value)
    # 'auto' into an empty folder is a fresh start
    fresh = build_toy_trainer(tmp_path / "other", cfg)
    fresh.train(resume="auto")
    assert fresh.epoch == 2


def lrs_per_iteration(trainer) -> list[float]:
    """The head LR of every training step the trainer takes from now on (read at each training forward)."""
    seen = []

    def record(module, inputs):
        if module.training:
            seen.append(trainer.optimizer.param_groups[0]["lr"])

    trainer.net.register_forward_pre_hook(record)  # a hook, not a patched method: checkpoints stay plain data
    return seen


def finished_cosine_run(tmp_path, epochs=4, **train):
    cfg = toy_config(epochs=epochs, **train)
    cfg.TRAIN.SCHEDULER.MIN_LR_RATIO = 0.0  # the schedule ends at LR 0
    trainer = build_toy_trainer(tmp_path, cfg)
    trainer.train()
    return cfg


def test_extending_a_finished_run_is_refused_with_the_reason(tmp_path):
    cfg = finished_cosine_run(tmp_path)
    longer = toy_config(epochs=5)
    longer.TRAIN.SCHEDULER.MIN_LR_RATIO = 0.0
    trainer = build_toy_trainer(tmp_path, longer)
    with pytest.raises(ConfigError) as err:
        trainer.train(resume="auto")
    message = str(err.value)
    assert "ep0004.pth" in message and "TRAIN.EPOCH 4 -> 5" in message
    assert "ended at epoch 4" in message and "--reschedule" in message
    assert [e for e, _ in list_checkpoints(trainer.dirs.checkpoint_dir)] == [4]  # nothing trained


def test_extending_with_reschedule_trains_on_the_new_schedule_and_says_so(tmp_path):
    finished_cosine_run(tmp_path)
    longer = toy_config(epochs=5)
    longer.TRAIN.SCHEDULER.MIN_LR_RATIO = 0.0
    trainer = build_toy_trainer(tmp_path, longer)
    lrs = lrs_per_iteration(trainer)
    trainer.train(resume="auto", reschedule=True)
    assert trainer.epoch == 5 and len(lrs) == 6
    # the 5-epoch cosine from iteration 24 on (where the 4-epoch run stopped), not the ended schedule's LR 0
    expected = [0.01 * lr_factor(i, 6, 5, "cosine", warmup_epochs=0.5) for i in range(24, 30)]
    assert lrs == pytest.approx(expected) and lrs[0] > 1e-4
    log = trainer.dirs.log_file.read_text()
    assert "rescheduled" in log and "TRAIN.EPOCH 4 -> 5" in log


def test_changed_lr_is_refused_then_applied_with_reschedule(tmp_path):
    cfg = toy_config(epochs=4)
    build_toy_trainer(tmp_path, cfg).train(max_epochs=2)
    faster = toy_config(epochs=4, LR=0.05)
    with pytest.raises(ConfigError, match=r"TRAIN\.LR .*0\.01 -> 0\.05"):
        build_toy_trainer(tmp_path, faster).train(resume="auto")
    trainer = build_toy_trainer(tmp_path, faster)
    lrs = lrs_per_iteration(trainer)
    trainer.train(resume="auto", reschedule=True)
    assert lrs[0] == pytest.approx(0.05 * lr_factor(12, 6, 4, "cosine", warmup_epochs=0.5, min_lr_ratio=0.1))
    groups = {g["name"]: g for g in trainer.optimizer.param_groups}
    assert groups["backbone"]["initial_lr"] == pytest.approx(0.05 * 0.5)  # BACKBONE_MULTIPLIER applies too


def test_other_iterations_per_epoch_are_a_schedule_change(tmp_path):
    build_toy_trainer(tmp_path, toy_config(epochs=3)).train(max_epochs=1)
    bigger_batches = toy_config(epochs=3, BATCH_SIZE=8)  # 3 iterations per epoch instead of 6
    with pytest.raises(ConfigError, match="iterations per epoch 6 -> 3"):
        build_toy_trainer(tmp_path, bigger_batches).train(resume="auto")
    trainer = build_toy_trainer(tmp_path, bigger_batches)
    lrs = lrs_per_iteration(trainer)
    trainer.train(resume="auto", reschedule=True)
    assert trainer.scheduler.last_epoch == 9 and len(lrs) == 6  # epoch 1 = iteration 3 of the new schedule
    assert lrs[0] == pytest.approx(0.01 * lr_factor(3, 3, 3, "cosine", warmup_epochs=0.5, min_lr_ratio=0.1))


def test_changed_schedule_with_nothing_left_to_train_is_only_a_warning(tmp_path):
    finished_cosine_run(tmp_path, epochs=2)
    trainer = build_toy_trainer(tmp_path, toy_config(epochs=2, LR=0.05))
    trainer.train(resume="auto")
    log = trainer.dirs.log_file.read_text()
    assert "nothing to do" in log and "TRAIN.LR" in log


# -- non-finite loss -------------------------------------------------------------------------------------------

def test_nan_loss_stops_naming_epoch_and_iteration(tmp_path):
    cfg = toy_config(epochs=3)
    trainer = build_toy_trainer(tmp_path, cfg, nan_at=(2, 3))
    before = {k: v.clone() for k, v in trainer.net.state_dict().items()}
    with pytest.raises(NonFiniteLossError) as err:
        trainer.train()
    message = str(err.value)
    assert "epoch 2" in message and "iteration 3/6" in message and "Loss/total nan" in message
    assert (err.value.epoch, err.value.iteration) == (2, 3)
    assert [e for e, _ in list_checkpoints(trainer.dirs.checkpoint_dir)] == [1]  # written checkpoints stay
    assert all(torch.isfinite(v).all() for v in trainer.net.state_dict().values())  # no step taken with NaN
    assert any(not torch.equal(before[k], v) for k, v in trainer.net.state_dict().items())
    log = trainer.dirs.log_file.read_text()
    assert "STOPPED: non-finite train loss at epoch 2, iteration 3/6" in log and "finished" not in log


def test_actor_floating_point_error_is_reported_like_a_nan(tmp_path):
    class RaisingActor(ToyActor):
        def __call__(self, batch):
            raise FloatingPointError("network produced non-finite boxes")

    cfg = toy_config(epochs=1)
    trainer = build_toy_trainer(tmp_path, cfg, val=False)
    trainer.actor.__class__ = RaisingActor
    with pytest.raises(NonFiniteLossError, match=r"epoch 1, iteration 1/6 \(network produced non-finite boxes\)"):
        trainer.train()


# -- AMP, validation cadence, logs ---------------------------------------------------------------------------

def test_bf16_autocast_on_cpu_trains_without_grad_scaler(tmp_path):
    cfg = toy_config(epochs=1, AMP=True)
    trainer = build_toy_trainer(tmp_path, cfg, val=False)
    assert trainer.amp_dtype == torch.bfloat16 and not trainer.scaler.is_enabled()
    seen = []
    original = trainer.actor.net.forward

    def spy(x):
        out = original(x)
        seen.append(out.dtype)
        return out

    trainer.actor.net.forward = spy
    history = trainer.train()
    assert set(seen) == {torch.bfloat16} and math.isfinite(history[0]["train"]["Loss/total"])
    assert all(v.dtype == torch.float32 for v in trainer.net.state_dict().values())  # master weights stay fp32


def test_validation_cadence_and_log_outputs(tmp_path):
    cfg = toy_config(epochs=5, VAL_EPOCH_INTERVAL=2)
    trainer = build_toy_trainer(tmp_path, cfg, tensorboard=True)
    history = trainer.train()
    assert [h["epoch"] for h in history if h["val"]] == [2, 4, 5]  # every 2 epochs, and the final one
    # the same validation pairs each time (sampler epoch 0): with the weights frozen, the numbers would repeat
    lines = [json.loads(line) for line in trainer.dirs.jsonl_file.read_text().splitlines()]
    assert [line["epoch"] for line in lines] == [1, 2, 3, 4, 5]
    assert lines[-1]["train"]["Loss/total"] == pytest.approx(history[-1]["train"]["Loss/total"])
    assert set(lines[0]["lr"]) == {"head", "head_no_decay", "backbone", "backbone_no_decay"}
    log = trainer.dirs.log_file.read_text()
    assert log.count("[train] epoch 1 iter") == 2  # print interval 2 over 6 iterations (the last is the summary)
    assert "epoch 5/5 done" in log and "finished: 5 epochs" in log
    assert list(trainer.dirs.tensorboard_dir.glob("events.out.tfevents.*"))


def test_validation_loss_uses_fixed_pairs(tmp_path):
    cfg = toy_config(epochs=2, VAL_EPOCH_INTERVAL=1, LR=0.0)  # LR 0: the weights never change
    cfg.TRAIN.SCHEDULER.WARMUP_EPOCHS = 0.0
    history = build_toy_trainer(tmp_path, cfg).train()
    assert history[0]["val"] == history[1]["val"]


# -- entry point and launcher --------------------------------------------------------------------------------

@pytest.fixture
def toy_builders(monkeypatch):
    """run_training's model/data builders replaced by the toy ones (the real ones are tested elsewhere)."""
    options = {"nan_at": None}

    def build_loaders(cfg, rank=0, world_size=1, seed=0):
        return {"train": build_loader(ToyPairs(16, seed), cfg.TRAIN.BATCH_SIZE, 0, rank=rank,
                                      world_size=world_size, seed=seed)}

    modules = {"lib.models": types.SimpleNamespace(build_network=lambda cfg: ToyNet(dropout=0.2)),
               "lib.train.actors": types.SimpleNamespace(
                   build_actor=lambda script, net, cfg: ToyActor(net, cfg, nan_at=options["nan_at"])),
               "lib.train.data.build": types.SimpleNamespace(build_loaders=build_loaders)}
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delenv("TRACKING_OUTPUT_ROOT", raising=False)
    monkeypatch.delenv("TRACKING_DEVICE", raising=False)
    return options


def write_toy_yaml(path):
    path.write_text(yaml.safe_dump({"TRAIN": {"EPOCH": 3, "BATCH_SIZE": 4, "NUM_WORKER": 0, "LR": 0.01,
                                              "PRINT_INTERVAL": 100, "SEED": 3}}))
    return path


def test_run_training_exit_codes_resume_and_effective_config(tmp_path, toy_builders, capsys):
    from lib.train import run_training
    config = write_toy_yaml(tmp_path / "toy_run.yaml")
    out = tmp_path / "out"
    base = ["--script", "ostrack", "--config", str(config), "--save_dir", str(out), "--device", "cpu",
            "--no_progress"]
    assert run_training.main(base + ["--epochs", "2"]) == 0
    run_dir = out / "checkpoints" / "ostrack" / "toy_run"
    assert [e for e, _ in list_checkpoints(run_dir)] == [1, 2]  # CHECKPOINT_KEEP_LAST default 2
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["TRAIN"]["EPOCH"] == 2 and saved["TRAIN"]["SEED"] == 3
    assert (out / "logs" / "ostrack" / "toy_run.log").is_file()

    assert run_training.main(base) == run_training.EXIT_USAGE  # checkpoints exist and no --resume
    assert "--resume auto" in capsys.readouterr().err

    # the yaml says 3 epochs, the finished run had 2: extending it needs --reschedule
    assert run_training.main(base + ["--resume", "auto"]) == run_training.EXIT_USAGE
    err = capsys.readouterr().err
    assert "TRAIN.EPOCH 2 -> 3" in err and "--reschedule" in err
    toy_builders["nan_at"] = (3, 2)
    assert run_training.main(base + ["--resume", "auto", "--reschedule"]) == run_training.EXIT_NON_FINITE
    err = capsys.readouterr().err
    assert "epoch 3, iteration 2/4" in err
    assert [e for e, _ in list_checkpoints(run_dir)] == [1, 2]
    log = (out / "logs" / "ostrack" / "toy_run.log").read_text()
    assert "rescheduled" in log and "TRAIN.EPOCH 2 -> 3" in log  # the new schedule is applied, and said
    with pytest.raises(SystemExit) as exit_info:
        run_training.main(base + ["--reschedule"])  # --reschedule needs --resume
    assert exit_info.value.code == 2


def test_run_training_seeds_from_the_global_rank():
    from lib.train.run_training import seed_process
    seed_process(5, 0)
    a = torch.rand(3)
    seed_process(5, 1)
    b = torch.rand(3)
    seed_process(5, 0)
    assert torch.equal(torch.rand(3), a) and not torch.equal(a, b)


def test_launcher_passes_only_given_options(monkeypatch):
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location(
        "train_cli", Path(__file__).resolve().parents[1] / "tracking" / "train.py")
    train_cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train_cli)
    parser = train_cli.build_parser()

    args = parser.parse_args(["--script", "ostrack", "--config", "c", "--mode", "multiple", "--nproc_per_node", "2",
                              "--seed", "5"])
    cmd = train_cli.torchrun_command(args)
    assert cmd[:3] == [sys.executable, "-m", "torch.distributed.run"] and "--standalone" in cmd
    assert cmd[cmd.index("-m", 3):] == ["-m", "lib.train.run_training", "--script", "ostrack", "--config", "c",
                                        "--seed", "5"]
    assert "None" not in cmd and "--resume" not in cmd

    args = parser.parse_args(["--script", "ostrack", "--config", "c", "--mode", "multiple", "--nproc_per_node", "4",
                              "--nnodes", "2", "--node_rank", "1", "--master_addr", "10.0.0.1",
                              "--master_port", "29501", "--resume", "auto", "--reschedule"])
    cmd = train_cli.torchrun_command(args)
    assert "--standalone" not in cmd
    assert cmd[3:13] == ["--nproc_per_node", "4", "--nnodes", "2", "--node_rank", "1", "--master_addr", "10.0.0.1",
                         "--master_port", "29501"]
    assert cmd[-3:] == ["--resume", "auto", "--reschedule"]

    with pytest.raises(SystemExit):
        train_cli.check_args(parser, parser.parse_args(["--script", "s", "--config", "c", "--nproc_per_node", "2"]))

    # a failing torchrun makes the launcher exit non-zero
    monkeypatch.setattr(train_cli.subprocess, "run", lambda cmd, check: types.SimpleNamespace(returncode=3))
    assert train_cli.main(["--script", "s", "--config", "c", "--mode", "multiple", "--nproc_per_node", "2"]) == 3


def test_atomic_write_gives_normal_file_permissions(tmp_path):
    """mkstemp's 0600 must not leak into results and checkpoints that other users read."""
    from lib.utils import io
    path = io.atomic_write(tmp_path / "result.txt", "1,2,3,4\n")
    assert path.read_text() == "1,2,3,4\n" and (path.stat().st_mode & 0o777) == 0o666 & ~io._UMASK

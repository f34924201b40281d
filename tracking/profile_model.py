"""Parameters, FLOPs, batch-1 latency and how far that latency is from the machine's matmul floor.

    python tracking/profile_model.py --script ostrack --config vitb_256_mae_ce_32x4_ep300
    python tracking/profile_model.py --script ostrack --config vitb_256_mae_ce_32x4_ep300 --backbone_only \\
        --set MODEL.BACKBONE.CE_LOC=[] MODEL.BACKBONE.CE_KEEP_RATIO=[] --json
    python tracking/profile_model.py --script avltrack --config synth_tiny_halting --checkpoint auto \\
        --frames synth_uav --sequence synth_test_000          # a trained model on real frames, its sentence
    python tracking/profile_model.py --script avltrack --config avltrack_tiny_224 --mean_depth 6 --json
    python tracking/profile_model.py --script ostrack --config synth_tiny --backend onnxruntime   # vs onnxruntime

* inputs: random tensors at the config's TEST sizes, or with ``--frames`` real frames cropped as the tracker crops
  them (the template from frame 0; the search regions of the next ``--num_frames`` frames around their
  ground-truth boxes, the path a perfect tracker takes), with the sequence's sentence for language trackers.
  Weights are random unless ``--checkpoint`` loads trained ones (``auto``: epoch TEST.EPOCH of the config).
* FLOPs: ``torch.utils.flop_counter.FlopCounterMode`` over batch-1 inference forwards (mean over the frames; a
  multiply-add is 2 FLOPs; attention matmuls are counted, SDPA included).
* latency: median of ``--repeats`` timed forwards under ``torch.inference_mode`` in eval mode, after warm-up
  (cycling through the frames).
* token halting (models with ``MODEL.HALTING.ENABLED``): ``TEST.HALTING`` of the config picks the path of the
  figures above; the same run then times halting off and on interleaved, with the mean depth (blocks per token)
  and FLOPs of each. ``--mean_depth D`` adds the pruned path with the halting depths forced to spread over the
  blocks with mean D (the learned gate ignored): what halting at that depth saves, whatever the weights.
* ``--backend onnxruntime``: the per-frame network (crops and encoded sentence in, score / size / offset maps
  out; ``lib/deploy``) exported to a temporary ONNX file and timed in onnxruntime against the same network in
  PyTorch eager, interleaved, with the largest map difference; a halting model exports and times each path.
* matmul ceiling: the best fp32 GFLOP/s of plain ``torch.mm`` over GEMMs shaped like the model's
  ((N x C) @ (C x 3C), (N x C) @ (C x 4C), (N x 4C) @ (4C x C), N = template + search tokens) and a 2048^3
  square one, timed interleaved with the forwards so both see the same machine load.
* floor = FLOPs / ceiling; "x of floor" = latency / floor.
* paired ratio: median over the repeats of (that forward's latency) / (FLOPs / best GEMM rate of the GEMMs timed
  right after it): less sensitive to the machine changing speed during the run than median vs best-of-run.

The machine may be shared: the CPU share other processes used and the hypervisor stole during timing is reported;
compare figures only from quiet runs, or as ratios inside one run. Pretrained weights are not loaded (they change
neither FLOPs nor speed). ``--backbone_only`` builds ``OneStreamViT`` from the config alone, at the TEST sizes.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from a plain checkout as well

import torch  # noqa: E402
import yaml  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from lib.config import load_config, merge_yaml  # noqa: E402
from lib.models.backbones import OneStreamViT  # noqa: E402  (also registers the CPU SDPA / packed-linear FLOPs)
from lib.models.layers.linear import set_packed_linear  # noqa: E402
from lib.paths import apply_cli_roots  # noqa: E402

SQUARE_GEMM = 2048
BACKEND_BLOCK = 10  # --backend onnxruntime: forwards per runner in a row
DEFAULT_SENTENCE = "the red van left of the blue truck, moving down"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--script", required=True, help="config family, e.g. ostrack")
    parser.add_argument("--config", default=None, help="experiments/<script>/<config>.yaml (default: family defaults)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="config overrides as yaml values, e.g. MODEL.BACKBONE.DEPTH=4 MODEL.BACKBONE.CE_LOC=[]")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--backbone_only", action="store_true", help="profile OneStreamViT alone (no head)")
    parser.add_argument("--repeats", type=int, default=20, help="timed forwards (median reported)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--no_packed_linear", action="store_true",
                        help="disable the MKL-prepacked inference path of lib.models.layers.Linear")
    parser.add_argument("--trace", action="store_true", help="also print a torch.profiler table of the forward")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--sentence", default=None,
                        help="language trackers: the sentence, encoded once as a tracker does per sequence (its cost "
                             "is reported apart); '' = none (default: the --frames sequence's, else a SynthUAV-style "
                             "one)")
    parser.add_argument("--checkpoint", help="trained weights: a checkpoint path, or 'auto' for epoch TEST.EPOCH of "
                                             "this config under the output root (default: random weights)")
    parser.add_argument("--frames", metavar="DATASET",
                        help="profile on real frames of this test benchmark (e.g. synth_uav, lasot) or VOT-layout "
                             "folder (vot:PATH) instead of random tensors")
    parser.add_argument("--sequence", help="--frames: the sequence (default: the first)")
    parser.add_argument("--num_frames", type=int, default=16, help="--frames: search frames used (default 16)")
    parser.add_argument("--mean_depth", type=int,
                        help="models with token halting: also time the pruned path with depths forced to spread "
                             "around this mean (blocks per token)")
    parser.add_argument("--enhancer",
                        help="low-light enhancer weights (DarkLighter) on the crops first, as MLKD's teacher tracks: "
                             "the template is enhanced once (not timed), the search crop every frame (timed and "
                             "counted)")
    parser.add_argument("--backend", choices=("pytorch", "onnxruntime"), default="pytorch",
                        help="onnxruntime: also export the per-frame network to ONNX (a temporary file) and time it "
                             "in onnxruntime against PyTorch eager, interleaved (each halting path of a halting model)")
    parser.add_argument("--data_root", help="dataset root (else TRACKING_DATA_ROOT, else <project>/data)")
    parser.add_argument("--save_dir", help="output root for --checkpoint auto (else TRACKING_OUTPUT_ROOT)")
    args = parser.parse_args(argv)
    if args.num_frames < 1:
        parser.error("--num_frames must be at least 1")
    if args.backbone_only and (args.checkpoint or args.enhancer):
        parser.error("--checkpoint and --enhancer need a whole tracker; drop --backbone_only")
    if args.backend != "pytorch" and (args.backbone_only or args.enhancer or args.device != "cpu"):
        parser.error("--backend onnxruntime times a whole tracker's network on the CPU: drop --backbone_only, "
                     "--enhancer and --device cuda")
    return args


# -- model ------------------------------------------------------------------------------------------------------------
def config_with_overrides(script: str, config: str | None, overrides: list[str]):
    cfg = load_config(script, config)
    if overrides:
        tree: dict = {}
        for item in overrides:
            key, sep, value = item.partition("=")
            if not sep:
                raise SystemExit(f"--set {item!r}: expected KEY=VALUE")
            node = tree
            *parents, leaf = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = yaml.safe_load(value)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="profile_set_") as handle:
            yaml.safe_dump(tree, handle)
            handle.flush()
            merge_yaml(cfg, handle.name, script)  # strict: unknown keys, wrong types and list elements are errors
    return cfg


def backbone_from_config(cfg) -> OneStreamViT:
    bb = cfg.MODEL.BACKBONE
    return OneStreamViT(template_size=cfg.TEST.TEMPLATE_SIZE, search_size=cfg.TEST.SEARCH_SIZE,
                        patch_size=bb.PATCH_SIZE, embed_dim=bb.EMBED_DIM, depth=bb.DEPTH, num_heads=bb.NUM_HEADS,
                        mlp_ratio=bb.MLP_RATIO, drop_path_rate=bb.DROP_PATH_RATE, ce_loc=tuple(bb.CE_LOC),
                        ce_keep_ratio=tuple(bb.CE_KEEP_RATIO))


def build_model(cfg, backbone_only: bool, script: str, config: str | None, checkpoint: str | None) -> nn.Module:
    """The network (or backbone) of ``cfg``, with random weights or a trained checkpoint's, in its test-time halting
    setting (``TEST.HALTING``)."""
    if backbone_only:
        return backbone_from_config(cfg)
    from lib.models import build_network
    from lib.models.avltrack import apply_test_halting
    cfg.MODEL.PRETRAIN_FILE = ""  # weights change neither FLOPs nor speed; do not require the file
    net = build_network(cfg, load_pretrained=False)
    if checkpoint:
        from lib.test.tracker.build import load_tracker_weights, resolve_checkpoint
        if config is None:
            raise SystemExit("--checkpoint needs --config (the config the checkpoint was trained with)")
        path = resolve_checkpoint(script, config, None if checkpoint == "auto" else checkpoint)
        load_tracker_weights(net, path, script, config)
    apply_test_halting(net, cfg)
    return net


def inner_model(model: nn.Module) -> nn.Module:
    while isinstance(model, (PerFrame, EnhancedSearch)):
        model = model.model
    return model


class EnhancedSearch(nn.Module):
    """A tracker behind a low-light enhancer, per frame: the search crop is enhanced, then tracked (the template was
    enhanced once, at initialisation)."""

    def __init__(self, model: nn.Module, enhancer: nn.Module) -> None:
        super().__init__()
        self.model, self.enhancer = model, enhancer

    def forward(self, template: torch.Tensor, search: torch.Tensor):
        return self.model(template, self.enhancer(search))


def backbone_of(model: nn.Module) -> nn.Module:
    inner = inner_model(model)
    return getattr(inner, "backbone", inner)


def frame_inputs(cfg, dataset: str, sequence: str | None, count: int,
                 device: torch.device) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], str | None, str]:
    """([(template, search)] network inputs on real frames (``lib.test.tracker.crops``), the sentence, source)."""
    from lib.test.tracker.crops import sequence_crops
    from lib.train.data.transforms import normalize_image
    try:
        crops = sequence_crops(cfg.TEST, dataset, sequence, count)
    except (KeyError, ValueError, FileNotFoundError) as err:
        raise SystemExit(f"--frames {dataset}: {err}") from None
    template = normalize_image(crops.template).unsqueeze(0).to(device)
    inputs = [(template, normalize_image(search).unsqueeze(0).to(device)) for search in crops.searches]
    return inputs, crops.sentence, crops.source


class PerFrame(nn.Module):
    """A language tracker's per-frame network: the model with its sentence already encoded (once per sequence)."""

    def __init__(self, model: nn.Module, text) -> None:
        super().__init__()
        self.model, self.text = model, text

    def forward(self, template: torch.Tensor, search: torch.Tensor):
        return self.model(template, search, text=self.text)


def with_sentence(model: nn.Module, cfg, sentence: str) -> tuple[nn.Module, float | None]:
    """(the per-frame network, milliseconds to encode the sentence); models without language are returned as is."""
    if not hasattr(model, "encode_text"):
        return model, None
    model.eval()
    model.encode_sentence(None, cfg.DATA.MAX_TEXT_LEN)  # loads the tokenizer: not part of the timed encoding
    start = time.perf_counter()
    with torch.no_grad():  # not inference_mode: count_params differentiates through the encoded text's users
        text = model.encode_sentence(sentence or None, cfg.DATA.MAX_TEXT_LEN)
    return PerFrame(model, text), (time.perf_counter() - start) * 1e3


def tensors_in(output) -> Iterator[torch.Tensor]:
    if isinstance(output, torch.Tensor):
        yield output
    elif isinstance(output, dict):
        for value in output.values():
            yield from tensors_in(value)
    elif isinstance(output, (list, tuple)):
        for value in output:
            yield from tensors_in(value)


# -- measurements -----------------------------------------------------------------------------------------------------
def count_params(model: nn.Module, inputs: tuple) -> tuple[int, int]:
    """(all parameters, parameters an eval-mode forward reaches: those autograd gives a gradient)."""
    params = [p for p in model.parameters() if p.requires_grad]
    total = sum(p.numel() for p in model.parameters())
    model.eval()
    with torch.enable_grad():
        outputs = [t for t in tensors_in(model(*inputs)) if t.requires_grad and t.is_floating_point()]
        if not outputs:
            return total, 0
        loss = sum(t.float().sum() for t in outputs)
        grads = torch.autograd.grad(loss, params, allow_unused=True)
    reached = sum(p.numel() for p, g in zip(params, grads) if g is not None)
    return total, reached + sum(p.numel() for p in model.parameters() if not p.requires_grad)


def count_flops(model: nn.Module, frames: list[tuple]) -> tuple[int, dict[str, int]]:
    """Mean FLOPs per forward over the frames (they differ when tokens halt), in all and by operator."""
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        for inputs in frames:
            model(*inputs)
    by_op = {str(op): int(n) // len(frames) for op, n in counter.get_flop_counts().get("Global", {}).items()}
    return int(counter.get_total_flops()) // len(frames), by_op


def mean_halting_depth(model: nn.Module, frames: list[tuple]) -> float:
    """Blocks run per token, mean over tokens and frames (the backbone's ``halting`` output)."""
    depths = []
    with torch.inference_mode():
        for inputs in frames:
            out = model(*inputs)
            feats = out.get("backbone", out)
            depths.append(float(feats["halting"]["depth"].float().mean()))
    return statistics.mean(depths)


def gemm_shapes(num_tokens: int, dim: int) -> list[tuple[int, int, int]]:
    return [(num_tokens, dim, 3 * dim), (num_tokens, dim, 4 * dim), (num_tokens, 4 * dim, dim),
            (SQUARE_GEMM, SQUARE_GEMM, SQUARE_GEMM)]


class MachineLoad:
    """CPU the hypervisor stole and CPU other processes used while timing (shares of all cores), from /proc/stat.

    Both distort latency (two threads wait on each other when either is descheduled), so runs with either above a
    few percent are not comparable. None where /proc/stat does not exist.
    """

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float, float] | None:
        try:
            fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        except OSError:
            return None
        tick = os.sysconf("SC_CLK_TCK")
        user, nice, system, idle, iowait, irq, softirq, steal = fields + [0] * (8 - len(fields))
        busy = (user + nice + system + irq + softirq) / tick
        own = sum(os.times()[:2])  # this process (all its threads), seconds
        return busy, steal / tick, sum(fields) / tick, own

    def stop(self) -> dict[str, float] | None:
        end = self._sample()
        if self.start is None or end is None or end[2] <= self.start[2]:
            return None
        total = end[2] - self.start[2]
        others = (end[0] - self.start[0]) - (end[3] - self.start[3])
        return {"steal": (end[1] - self.start[1]) / total, "other_processes": max(0.0, others / total)}


def timed(fn: Callable[[], object], sync: Callable[[], None]) -> float:
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def measure(model: nn.Module, frames: list[tuple], shapes: list[tuple[int, int, int]], device: torch.device,
            repeats: int, warmup: int) -> dict:
    """Forward latencies and GEMM rates, interleaved: forward (the next frame), then one trial of every GEMM shape,
    repeatedly."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    gemms = []
    for m, k, n in shapes:
        a, b = torch.randn(m, k, device=device), torch.randn(k, n, device=device)
        out = torch.empty(m, n, device=device)
        gemms.append(((m, k, n), lambda a=a, b=b, out=out: torch.mm(a, b, out=out)))
    best_rate = {shape: 0.0 for shape, _ in gemms}
    latencies, round_rates = [], []
    model.eval()
    with torch.inference_mode():
        for i in range(warmup):
            model(*frames[i % len(frames)])
        for _, gemm in gemms:
            gemm()
        load = MachineLoad()
        for i in range(repeats):
            latencies.append(timed(lambda: model(*frames[i % len(frames)]), sync))
            rates = {(m, k, n): 2 * m * k * n / timed(gemm, sync) / 1e9 for (m, k, n), gemm in gemms}
            round_rates.append(max(rates.values()))
            for shape, rate in rates.items():
                best_rate[shape] = max(best_rate[shape], rate)
        machine = load.stop()
    return {"latencies": latencies, "round_gflops": round_rates, "gemm_gflops": best_rate, "machine": machine}


def halting_comparison(model: nn.Module, frames: list[tuple], mean_depth: int | None, repeats: int,
                       warmup: int) -> dict:
    """{'off' | 'on' | 'forced': {mean_depth, flops, latency_ms}} of a model whose backbone halts: every token
    through every block, the learned halting (pruned path), and with ``mean_depth`` the depths forced to spread
    around it; timed interleaved (a different path first each repeat), so all see the same machine load."""
    from lib.models.backbones.vit_halting import spread_depths
    backbone = backbone_of(model)
    saved = (backbone.halting, backbone.forced_depth)
    paths = {"off": (False, None), "on": (True, None)}
    if mean_depth is not None:
        num_tokens = backbone.num_template_tokens + backbone.num_search_tokens
        depths = spread_depths(mean_depth, len(backbone.blocks), num_tokens, torch.Generator().manual_seed(0))
        paths["forced"] = (True, depths)

    def use(path: str) -> None:
        backbone.halting, depths = paths[path]
        backbone.force_depth(depths)

    result, times = {}, {path: [] for path in paths}
    try:
        for path in paths:
            use(path)
            flops, _ = count_flops(model, frames)
            result[path] = {"mean_depth": mean_halting_depth(model, frames), "flops": flops}
        order = list(paths)
        with torch.inference_mode():
            for i in range(warmup + repeats):
                for path in order[i % len(order):] + order[:i % len(order)]:
                    use(path)
                    elapsed = timed(lambda: model(*frames[i % len(frames)]), lambda: None)
                    if i >= warmup:
                        times[path].append(elapsed)
    finally:
        backbone.halting, backbone.forced_depth = saved
    for path in paths:
        result[path]["latency_ms"] = statistics.median(times[path]) * 1e3
    return result


def backend_comparison(model: nn.Module, frames: list[tuple], mean_depth: int | None, repeats: int, warmup: int,
                       threads: int) -> dict:
    """{path: {pytorch_ms, onnxruntime_ms, max_abs_diff, export_s}}: the per-frame network (``lib/deploy``) in
    PyTorch eager and exported to ONNX in onnxruntime, timed interleaved in blocks (another runner first each time);
    one path ('network') or, for a model whose tokens halt, 'off', 'on' and with ``mean_depth`` 'forced' (each its
    own graph: halting is part of it)."""
    from lib.deploy.frame_network import FrameNetwork
    from lib.deploy.onnx_backend import OnnxNetwork, map_differences
    from lib.deploy.onnx_export import export_frame_network
    from lib.models.backbones.vit_halting import spread_depths
    net, text = inner_model(model), getattr(model, "text", None)
    backbone = backbone_of(model)
    paths: dict[str, tuple | None] = {"network": None}
    if hasattr(backbone, "force_depth"):
        paths = {"off": (False, None), "on": (True, None)}
        if mean_depth is not None:
            num_tokens = backbone.num_template_tokens + backbone.num_search_tokens
            paths["forced"] = (True, spread_depths(mean_depth, len(backbone.blocks), num_tokens,
                                                   torch.Generator().manual_seed(0)))
    saved = (getattr(backbone, "halting", None), getattr(backbone, "forced_depth", None))
    frame_net = FrameNetwork(net).eval()
    inputs = [frame_net.inputs(z, x, text) for z, x in frames]

    def use(path: str) -> None:
        if paths[path] is not None:
            backbone.halting = paths[path][0]
            backbone.force_depth(paths[path][1])

    result, sessions = {}, {}
    try:
        with tempfile.TemporaryDirectory(prefix="profile_onnx_") as folder:
            for path in paths:
                use(path)
                start = time.perf_counter()
                file = export_frame_network(frame_net, inputs[0], Path(folder) / f"{path}.onnx", {})
                sessions[path] = OnnxNetwork(file, threads=threads)
                result[path] = {"export_s": time.perf_counter() - start, "pytorch": [], "onnxruntime": [],
                                "max_abs_diff": max(map_differences(frame_net, sessions[path], frames, text).values())}
            # in blocks of BACKEND_BLOCK forwards per runner, not alternating every forward: onnxruntime's threads
            # busy-wait for a moment after each run (its default, kept), which would slow the PyTorch forward after it
            runners = [(path, "pytorch") for path in paths] + [(path, "onnxruntime") for path in paths]
            with torch.inference_mode():
                for i in range(-(-(warmup + repeats) // BACKEND_BLOCK)):
                    for path, backend in runners[i % len(runners):] + runners[:i % len(runners)]:
                        use(path)
                        for k in range(i * BACKEND_BLOCK, (i + 1) * BACKEND_BLOCK):
                            frame = k % len(frames)
                            run = ((lambda: frame_net(*inputs[frame])) if backend == "pytorch"
                                   else (lambda: sessions[path](*frames[frame], text)))
                            elapsed = timed(run, lambda: None)
                            if k >= warmup:
                                result[path][backend].append(elapsed)
    finally:
        if saved[0] is not None:
            backbone.halting, backbone.forced_depth = saved
    for row in result.values():
        for backend in ("pytorch", "onnxruntime"):
            row[f"{backend}_ms"] = statistics.median(row.pop(backend)) * 1e3
    return result


def trace(model: nn.Module, inputs: tuple, rows: int = 15) -> str:
    from torch.profiler import profile
    with torch.inference_mode():
        model(*inputs)
        with profile() as prof:
            for _ in range(3):
                model(*inputs)
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.no_packed_linear:
        set_packed_linear(False)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device here")
    apply_cli_roots(args.data_root, args.save_dir)
    cfg = config_with_overrides(args.script, args.config, args.set)
    model = build_model(cfg, args.backbone_only, args.script, args.config, args.checkpoint).to(device)
    torch.manual_seed(0)
    tz, ts = cfg.TEST.TEMPLATE_SIZE, cfg.TEST.SEARCH_SIZE
    if args.frames:
        frames, sentence, source = frame_inputs(cfg, args.frames, args.sequence, args.num_frames, device)
    else:
        frames = [(torch.randn(1, 3, tz, tz, device=device), torch.randn(1, 3, ts, ts, device=device))]
        sentence, source = DEFAULT_SENTENCE, "random tensors"
    sentence = sentence if args.sentence is None else args.sentence
    model, encode_ms = with_sentence(model, cfg, sentence)
    if args.enhancer:
        from lib.models.enhancer import FrozenEnhancer
        enhancer = FrozenEnhancer.from_file(args.enhancer).to(device)
        frames = [(enhancer(z), x) for z, x in frames]  # the template once per sequence
        model = EnhancedSearch(model, enhancer)
    patch, dim = cfg.MODEL.BACKBONE.PATCH_SIZE, cfg.MODEL.BACKBONE.EMBED_DIM
    num_tokens = (tz // patch) ** 2 + (ts // patch) ** 2
    halts = hasattr(backbone_of(model), "force_depth")
    if args.mean_depth is not None and not halts:
        raise SystemExit(f"--mean_depth: {args.script}/{args.config} has no token halting (MODEL.HALTING.ENABLED)")

    params, params_inference = count_params(model, frames[0])
    flops, flops_by_op = count_flops(model, frames)
    shapes = gemm_shapes(num_tokens, dim)
    timing = measure(model, frames, shapes, device, args.repeats, args.warmup)
    halting = halting_comparison(model, frames, args.mean_depth, args.repeats, args.warmup) if halts else None
    latency = statistics.median(timing["latencies"])
    ceiling = max(timing["gemm_gflops"].values())
    floor = flops / (ceiling * 1e9)
    paired = statistics.median(t * r * 1e9 / flops for t, r in zip(timing["latencies"], timing["round_gflops"]))

    what = "backbone (OneStreamViT)" if args.backbone_only else type(inner_model(model)).__name__
    what += " behind DarkLighter (search crop enhanced every frame)" if args.enhancer else ""
    bb = cfg.MODEL.BACKBONE
    ce = f"CE at {list(bb.CE_LOC)} keep {list(bb.CE_KEEP_RATIO)}" if bb.CE_LOC else "no CE"
    print(f"model: {what}, {args.script}/{args.config or '(defaults)'}, embed {dim} depth {bb.DEPTH} heads "
          f"{bb.NUM_HEADS}, template {tz} / search {ts} ({num_tokens} tokens), {ce}")
    weights = f"checkpoint {args.checkpoint}" if args.checkpoint else "random weights"
    print(f"inputs: {source} ({len(frames)} search frames), {weights}"
          + (f", token halting {'on' if backbone_of(model).halting else 'off'} (TEST.HALTING)" if halts else ""))
    print(f"device {device.type}, {args.threads} threads, packed linear "
          f"{'off' if args.no_packed_linear else 'on (where available)'}")
    print(f"parameters: {params:,} total, {params_inference:,} used at inference")
    if encode_ms is not None:
        what = f"sentence {sentence!r}" if sentence else "no sentence"
        print(f"{what}: encoded once per sequence in {encode_ms:.1f} ms (not in the per-frame figures below)")
    print(f"FLOPs (batch 1): {flops / 1e9:.3f} G  " +
          ", ".join(f"{op} {n / 1e9:.3f}" for op, n in sorted(flops_by_op.items(), key=lambda kv: -kv[1])))
    lat_ms = [t * 1e3 for t in timing["latencies"]]
    print(f"latency (batch 1, median of {args.repeats}): {latency * 1e3:.2f} ms  (min {min(lat_ms):.2f}, "
          f"max {max(lat_ms):.2f})")
    print("fp32 matmul GFLOP/s (best of the run): " +
          ", ".join(f"({m}x{k})@({k}x{n}) {r:.1f}" for (m, k, n), r in timing["gemm_gflops"].items()))
    print(f"matmul ceiling {ceiling:.1f} GFLOP/s -> FLOP floor {floor * 1e3:.2f} ms; latency = "
          f"{latency / floor:.3f}x the floor (min latency {min(lat_ms) / 1e3 / floor:.3f}x, paired {paired:.3f}x)")
    machine = timing["machine"]
    if machine is not None:
        noisy = max(machine.values()) > 0.05
        print(f"during timing: other processes used {machine['other_processes'] * 100:.1f}% of the CPUs, the "
              f"hypervisor stole {machine['steal'] * 100:.1f}%" + ("  -> NOISY, rerun when quiet" if noisy else ""))
    if halting is not None:
        off = halting["off"]["latency_ms"]
        print(f"token halting, interleaved in one run (median of {args.repeats}; {len(backbone_of(model).blocks)} "
              f"blocks):")
        for path, label in (("off", "off (full depth)"), ("on", "on (learned gate)"),
                            ("forced", f"forced, mean depth {args.mean_depth}")):
            if path in halting:
                row = halting[path]
                print(f"  {label:24s} mean depth {row['mean_depth']:5.2f}  {row['flops'] / 1e9:.3f} GFLOPs  "
                      f"{row['latency_ms']:.2f} ms  ({row['latency_ms'] / off:.0%} of off)")
    backends = None
    if args.backend == "onnxruntime":
        backends = backend_comparison(model, frames, args.mean_depth, args.repeats, args.warmup, args.threads)
        print(f"backends, the per-frame network interleaved in one run (median of {args.repeats}, {args.threads} "
              f"threads each):")
        for path, row in backends.items():
            label = {"network": "", "off": "halting off ", "on": "halting on ",
                     "forced": f"halting forced to mean depth {args.mean_depth} "}[path]
            print(f"  {label}PyTorch eager {row['pytorch_ms']:.2f} ms, onnxruntime {row['onnxruntime_ms']:.2f} ms: "
                  f"{row['pytorch_ms'] / row['onnxruntime_ms']:.2f}x  (max |map difference| "
                  f"{row['max_abs_diff']:.1e}, exported in {row['export_s']:.1f} s)")
    if args.trace:
        print(trace(model, frames[0]))
    result = {"params": params, "params_inference": params_inference, "flops": flops,
              "latency_ms": latency * 1e3, "matmul_gflops": ceiling, "floor_ms": floor * 1e3,
              "floor_ratio": latency / floor, "paired_floor_ratio": paired, "min_latency_ms": min(lat_ms),
              "gemm_gflops": {f"{m}x{k}x{n}": r for (m, k, n), r in timing["gemm_gflops"].items()},
              "flops_by_op": flops_by_op, "machine_load": machine, "threads": args.threads,
              "device": device.type, "backbone_only": args.backbone_only, "sentence_encode_ms": encode_ms,
              "inputs": source, "num_frames": len(frames), "checkpoint": args.checkpoint, "halting": halting,
              "enhancer": args.enhancer, "backends": backends}
    if args.json:
        print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()

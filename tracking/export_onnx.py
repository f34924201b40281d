"""Export a trained tracker's per-frame network to ONNX and check it against PyTorch on real frames.

    python tracking/export_onnx.py ostrack synth_tiny                       # -> next to the checkpoint
    python tracking/export_onnx.py avltrack synth_tiny_halting --halting off --out avl_full_depth.onnx
    python tracking/export_onnx.py ostrack output/mlkd_track/synth_night_ml-mlkd_track.yaml --dataset synth_uav_night

The graph (``lib/deploy/frame_network.py``): inputs ``template`` (1, 3, Ht, Wt) and ``search`` (1, 3, Hs, Ws),
ImageNet-normalised crops, and for AVLTrack the sentence encoded once per sequence in PyTorch: ``text_tokens``
(1, L, C), ``text_mask`` (1, L), ``text_valid`` (1,); outputs ``score_map`` (1, 1, F, F, after the sigmoid),
``size_map`` and ``offset_map`` (1, 2, F, F). Token halting (``TEST.HALTING`` or ``--halting``) is in the graph:
on, each block runs only on the tokens still running (a data-dependent count); off, every token runs every block.
The file records the checkpoint's digest and these settings, so ``tracking/test.py --backend onnxruntime --onnx
FILE`` refuses it for other weights. Default output: ``<checkpoint stem>[-halting_off].onnx`` beside the
checkpoint, the file ``test.py --backend onnxruntime`` uses when given none.

At the end the ONNX graph runs in onnxruntime on the crops a tracker would cut from ``--num_frames`` frames of a
sequence (with its sentence) and the largest absolute difference of each map against PyTorch is printed; exit
status 1 when one is above ``--tolerance``, 2 on a usage error.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from a plain checkout as well

import torch  # noqa: E402

from lib.paths import apply_cli_roots  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tracker", help="tracker family (ostrack, avltrack, mlkd)")
    parser.add_argument("param", help="experiments/<tracker>/<param>.yaml name, or a yaml path")
    parser.add_argument("--checkpoint", help="weights (default: epoch TEST.EPOCH of tracking/train.py)")
    parser.add_argument("--out", help="ONNX file to write (default: <checkpoint stem>.onnx beside it)")
    parser.add_argument("--halting", choices=("on", "off"), help="models with token halting: the path exported "
                                                                 "(default TEST.HALTING)")
    parser.add_argument("--dataset", default="synth_uav", help="frames for the parity check (default synth_uav)")
    parser.add_argument("--sequence", help="its sequence (default: the first)")
    parser.add_argument("--num_frames", type=int, default=8, help="search frames compared (default 8)")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest map difference accepted (1e-4)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of both runtimes (default 2)")
    parser.add_argument("--data_root", help="dataset root")
    parser.add_argument("--save_dir", help="output root (checkpoints are looked up under it)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    apply_cli_roots(args.data_root, args.save_dir)
    torch.set_num_threads(args.threads)
    from lib.deploy.frame_network import FrameNetwork
    from lib.deploy.onnx_backend import OnnxNetwork, default_onnx_path, map_differences, network_record
    from lib.deploy.onnx_export import OPSET, export_frame_network
    from lib.test.tracker.build import build_tracker, resolve_checkpoint, test_config
    from lib.test.tracker.crops import sequence_crops
    from lib.train.data.transforms import normalize_image
    try:
        halting = None if args.halting is None else args.halting == "on"
        cfg = test_config(args.tracker, args.param, halting)
        if cfg is None:
            raise ValueError(f"{args.tracker} is a baseline without a network: nothing to export")
        checkpoint = resolve_checkpoint(args.tracker, args.param, args.checkpoint)
        tracker = build_tracker(args.tracker, args.param, str(checkpoint), halting=halting)
        crops = sequence_crops(cfg.TEST, args.dataset, args.sequence, args.num_frames)
    except (KeyError, ValueError, FileNotFoundError) as error:
        print(f"error: {error.args[0] if isinstance(error, KeyError) else error}", file=sys.stderr)
        return 2
    record = network_record(args.tracker, cfg, checkpoint)
    out = Path(args.out) if args.out else default_onnx_path(checkpoint, record)
    frame_net = FrameNetwork(tracker.net)
    text = None
    if frame_net.reads_text:
        text = tracker.net.encode_sentence(crops.sentence, cfg.DATA.MAX_TEXT_LEN)
    start = time.perf_counter()
    export_frame_network(frame_net, frame_net.example_inputs(cfg.TEST, cfg.DATA.get("MAX_TEXT_LEN")), out, record)
    seconds = time.perf_counter() - start
    halts = {None: "", True: ", token halting on (pruned per block)", False: ", token halting off (full depth)"}
    print(f"exported {args.tracker}/{args.param} ({checkpoint}) -> {out}: opset {OPSET}, {out.stat().st_size / 1e6:.1f}"
          f" MB, {seconds:.1f} s{halts[record['halting']]}; checked with onnx.checker")
    print(f"inputs: {', '.join(frame_net.input_names)}; outputs: score_map, size_map, offset_map")
    template = normalize_image(crops.template).unsqueeze(0)
    frames = [(template, normalize_image(search).unsqueeze(0)) for search in crops.searches]
    worst = map_differences(frame_net, OnnxNetwork(out, threads=args.threads), frames, text)
    print(f"parity on {crops.source} ({len(crops.searches)} search crops"
          f"{', its sentence' if text is not None else ''}): max |onnxruntime - pytorch| "
          + ", ".join(f"{name} {value:.2e}" for name, value in worst.items()))
    if max(worst.values()) > args.tolerance:
        print(f"error: a map differs by more than --tolerance {args.tolerance:g}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

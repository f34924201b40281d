"""Score trackers' result files on a benchmark and print a table (optionally per attribute, optionally plots).

    python tracking/analysis_results.py --dataset synth_uav --trackers ostrack/synth_tiny template_matching/default
    python tracking/analysis_results.py --dataset webuav3m --trackers ostrack/vitb_256_mae_ce_32x4_ep300 \\
        --protocol webuav --format latex --attributes --plot
    python tracking/analysis_results.py --dataset vot:/data/vot2020/bag --trackers ostrack/synth_tiny --format json

Results are read from ``<results_root>/<tracker>/<param>/<dataset>/<seq>.txt`` (as tracking/test.py writes them).
md and LaTeX tables show percentages with one decimal; csv and json show fractions. Protocols (scoring rules):
see lib/test/analysis/protocols.py. Per-sequence scores are cached under ``<output root>/test/analysis_cache``
and recomputed when a result file, the ground truth or the scoring code changes (``--no_cache`` to bypass).
The table goes to stdout, the paths of the plots to stderr.

Exit status: 0 on success, 2 on a user error (unknown dataset, missing or malformed results), with a one-line
message.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence as SequenceType

from lib.paths import apply_cli_roots, output_root
from lib.test.analysis.report import SUMMARY_KEYS, evaluate_trackers, write_plots
from lib.test.analysis.tables import FORMATS, render
from lib.test.evaluation.datasets import get_dataset, select_by_name
from lib.test.evaluation.results import dataset_folder, results_dir


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="benchmark name, or vot:<folder>")
    parser.add_argument("--trackers", required=True, nargs="+", metavar="TRACKER/PARAM",
                        help="result folders to compare, as <tracker>/<param> (e.g. ostrack/synth_tiny)")
    parser.add_argument("--results_root", help="results root (default <output root>/test/tracking_results)")
    parser.add_argument("--protocol", choices=tuple(SUMMARY_KEYS), default="pytracking",
                        help="scoring rules (default pytracking: pytracking's analysis exactly, as OSTrack-family "
                             "papers; strict: the same with every absent/invalid frame a failure; otb: the MATLAB "
                             "toolkits; webuav: the WebUAV-3M toolkit, adds cAUC and mAcc)")
    parser.add_argument("--format", choices=FORMATS, default="md", help="table format (default md)")
    parser.add_argument("--sequence", nargs="+", metavar="NAME", help="score only these sequences (names)")
    parser.add_argument("--attributes", action="store_true", help="also AUC and precision per attribute")
    parser.add_argument("--plot", action="store_true", help="write success / precision plots (PNG)")
    parser.add_argument("--plot_dir", help="plot folder (default <output root>/test/result_plots/<dataset>)")
    parser.add_argument("--no_cache", action="store_true", help="rescore every sequence, read and write no cache")
    parser.add_argument("--drop_zero_success", action="store_true",
                        help="MATLAB OTB rule: leave out sequences whose success curve is all zero")
    parser.add_argument("--data_root", help="dataset root")
    parser.add_argument("--save_dir", "--output_root", dest="save_dir",
                        help="output root (results, cache and plots are under it)")
    return parser


def parse_tracker(spec: str) -> tuple[str, str]:
    tracker, _, param = spec.partition("/")
    if not tracker or not param:
        raise ValueError(f"--trackers expects <tracker>/<param> (e.g. ostrack/synth_tiny), got {spec!r}")
    return tracker, param


def _fail(error: BaseException) -> None:
    message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    raise SystemExit(2)


def main(argv: SequenceType[str] | None = None) -> dict:
    """Runs the CLI; returns ``{"table": text, "results": {label: summary}, "plots": [paths]}``.

    User errors print one line to stderr and raise ``SystemExit(2)``.
    """
    args = build_parser().parse_args(argv)
    apply_cli_roots(args.data_root, args.save_dir)
    try:
        folders = {}
        for spec in dict.fromkeys(args.trackers):
            tracker, param = parse_tracker(spec)
            folders[spec] = results_dir(tracker, param, args.dataset, args.results_root)
        sequences = select_by_name(get_dataset(args.dataset), args.sequence)
        results = evaluate_trackers(sequences, folders, args.protocol, attributes=args.attributes,
                                    use_cache=not args.no_cache, drop_zero_success=args.drop_zero_success)
    except (KeyError, ValueError, FileNotFoundError) as error:
        _fail(error)
    title = f"{args.dataset}, protocol {args.protocol}, {len(sequences)} sequences"
    if args.attributes and not next(iter(results.values()))["attributes"]:
        print(f"note: {args.dataset} has no attribute flags; no attribute tables", file=sys.stderr)
    table = render(results, args.protocol, args.format, title=title)
    print(table)
    plots = []
    if args.plot:
        plot_dir = Path(args.plot_dir) if args.plot_dir else \
            output_root() / "test" / "result_plots" / dataset_folder(args.dataset)
        plots = write_plots(results, plot_dir, title=args.dataset, attributes=args.attributes)
        overall = [p for p in plots if p.parent == plot_dir]
        print(f"{len(plots)} plots written to {plot_dir}: " + ", ".join(p.name for p in overall)
              + (f" and {len(plots) - len(overall)} per attribute in {plot_dir / 'attributes'}"
                 if len(plots) > len(overall) else ""), file=sys.stderr)
    return {"table": table, "results": results, "plots": plots}


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:  # stdout piped into `head` & co.: stop quietly (the Python docs' recipe)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)

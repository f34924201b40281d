"""Success / precision / normalised-precision plots (PNG) of tracker summaries from ``report.evaluate_trackers``.

Drawn on a bare ``Figure`` with the Agg canvas: no pyplot state, no display needed, and the caller's matplotlib
backend is left alone. Legends read ``[score] label`` and are sorted by that score, best first; the score is the
one in the tables (AUC; precision at 20 px; normalised precision as the protocol defines it; cAUC).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from lib.test.analysis import metrics as M
from lib.test.analysis.report import Scores
from lib.utils.io import atomic_path, safe_filename


@dataclass(frozen=True)
class PlotKind:
    name: str
    curve: str
    score: str
    thresholds: np.ndarray
    title: str
    xlabel: str
    ylabel: str


KINDS = (
    PlotKind("success", "success_curve", "auc", M.SUCCESS_THRESHOLDS, "Success plot", "Overlap threshold",
             "Success rate"),
    PlotKind("precision", "precision_curve", "precision", M.PRECISION_THRESHOLDS, "Precision plot",
             "Location error threshold (px)", "Precision"),
    PlotKind("norm_precision", "norm_precision_curve", "norm_precision", M.NORM_PRECISION_THRESHOLDS,
             "Normalised precision plot", "Normalised location error threshold", "Normalised precision"),
    PlotKind("complete_success", "complete_success_curve", "cauc", M.SUCCESS_THRESHOLDS, "Complete success plot",
             "Complete-IoU threshold", "Complete success rate"),
)


def plot_curves(results: Mapping[str, Scores], kind: PlotKind, path: Path, subtitle: str = "") -> Path:
    """One plot of ``kind`` with a line per tracker, written atomically to ``path``."""
    fig = Figure(figsize=(6.0, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for label, scores in sorted(results.items(), key=lambda item: -item[1][kind.score]):
        ax.plot(kind.thresholds, scores[kind.curve], linewidth=1.8, label=f"[{scores[kind.score]:.3f}] {label}")
    ax.set(xlim=(kind.thresholds[0], kind.thresholds[-1]), ylim=(0.0, 1.0), xlabel=kind.xlabel,
           ylabel=kind.ylabel, title=f"{kind.title}{' - ' + subtitle if subtitle else ''}")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left" if kind.curve.endswith("success_curve") else "lower right", fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)


def plot_report(results: Mapping[str, Scores], out_dir: str | Path, title: str = "",
                attributes: bool = False) -> list[Path]:
    """Every available plot kind for the overall scores (``<out_dir>/<kind>.png``) and, with ``attributes``, per
    attribute (``<out_dir>/attributes/<attribute>_<kind>.png``). Returns the paths written."""
    out_dir = Path(out_dir)
    kinds = [k for k in KINDS if all(k.curve in r for r in results.values())]
    written = [plot_curves(results, k, out_dir / f"{k.name}.png", title) for k in kinds]
    if attributes:
        first = next(iter(results.values())).get("attributes", {})
        for attribute, summary in first.items():
            subset = {label: r["attributes"][attribute] for label, r in results.items()}
            subtitle = f"{title + ', ' if title else ''}{attribute} ({summary['sequences']})"
            folder = out_dir / "attributes"
            written += [plot_curves(subset, k, folder / f"{safe_filename(attribute)}_{k.name}.png", subtitle)
                        for k in kinds]
    return written

"""Rendering tracker summaries (from ``report.evaluate_trackers``) as md, csv, json or LaTeX.

md / LaTeX show percentages with one decimal (the column headers say "%"); csv and json keep fractions in [0, 1].
Tables are built with pandas; markdown and LaTeX are rendered here so that neither ``tabulate`` nor ``jinja2``
(what pandas' own ``to_markdown`` / ``to_latex`` need) is required.

* md / LaTeX: the overall table (rows = trackers), then with attributes one table per metric in
  ``ATTRIBUTE_METRICS`` (rows = "attribute (sequence count)", columns = trackers).
* csv: rows = trackers, columns = ``tracker, sequences, <metrics>``; with attributes a tidy table instead, with an
  ``attribute`` column that is ``ALL`` on the overall rows.
* json: ``{label: {<metrics>, sequences, <curves as lists>[, attributes: {name: {<metrics>, sequences}}]}}``.
"""
from __future__ import annotations

import json
from typing import Mapping

import pandas as pd

from lib.test.analysis.report import SUMMARY_KEYS, Scores

FORMATS = ("md", "csv", "json", "latex")
DISPLAY = {"auc": "AUC", "precision": "Precision", "norm_precision": "Norm. precision", "cauc": "cAUC",
           "macc": "mAcc"}
ATTRIBUTE_METRICS = ("auc", "precision")
CURVES = ("success_curve", "precision_curve", "norm_precision_curve", "complete_success_curve")


def summary_frame(results: Mapping[str, Scores], protocol: str) -> pd.DataFrame:
    """Rows = trackers, columns = ``sequences`` + the protocol's summary metrics (fractions)."""
    keys = SUMMARY_KEYS[protocol]
    frame = pd.DataFrame([{"sequences": r["sequences"], **{k: r[k] for k in keys}} for r in results.values()],
                         index=pd.Index(list(results), name="tracker"))
    return frame


def attribute_frame(results: Mapping[str, Scores], metric: str) -> pd.DataFrame:
    """Rows = attributes (in the first tracker's order), columns = ``sequences`` + one per tracker."""
    first = next(iter(results.values()))["attributes"]
    rows = [{"sequences": first[a]["sequences"], **{label: r["attributes"][a][metric] for label, r in results.items()}}
            for a in first]
    return pd.DataFrame(rows, index=pd.Index(list(first), name="attribute"))


def tidy_frame(results: Mapping[str, Scores], protocol: str) -> pd.DataFrame:
    """One row per (tracker, attribute), overall rows with attribute ``ALL``."""
    keys = SUMMARY_KEYS[protocol]
    rows = []
    for label, r in results.items():
        for attribute, s in [("ALL", r)] + list(r.get("attributes", {}).items()):
            rows.append({"tracker": label, "attribute": attribute, "sequences": s["sequences"],
                         **{k: s[k] for k in keys}})
    return pd.DataFrame(rows)


def _percent(frame: pd.DataFrame) -> list[list[str]]:
    return [[f"{100 * v:.1f}" for v in row] for row in frame.to_numpy(dtype=float)]


def markdown(frame: pd.DataFrame, index_title: str, headers: list[str]) -> str:
    """A GitHub markdown table of ``frame`` (values as percentages, one decimal)."""
    lines = ["| " + " | ".join([index_title] + headers) + " |",
             "|" + "|".join([":---"] + ["---:"] * len(headers)) + "|"]
    for name, cells in zip(frame.index, _percent(frame)):
        lines.append("| " + " | ".join([str(name)] + cells) + " |")
    return "\n".join(lines)


_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _tex(text: str) -> str:
    return "".join(_TEX_ESCAPES.get(c, c) for c in text)


def latex(frame: pd.DataFrame, index_title: str, headers: list[str], caption: str) -> str:
    """A booktabs ``tabular`` of ``frame`` (values as percentages, one decimal), captioned by a comment line."""
    lines = [f"% {caption}", "\\begin{tabular}{l" + "r" * len(headers) + "}", "\\toprule",
             " & ".join(_tex(h) for h in [index_title] + headers) + " \\\\", "\\midrule"]
    for name, cells in zip(frame.index, _percent(frame)):
        lines.append(" & ".join([_tex(str(name))] + cells) + " \\\\")
    return "\n".join(lines + ["\\bottomrule", "\\end{tabular}"])


def _json_ready(scores: Scores, keys: tuple[str, ...], curves: bool) -> dict:
    out = {k: float(scores[k]) for k in keys}
    out["sequences"] = int(scores["sequences"])
    if "dropped" in scores:
        out["dropped"] = int(scores["dropped"])
    if curves:
        out.update({c: [float(v) for v in scores[c]] for c in CURVES if c in scores})
    return out


def to_json(results: Mapping[str, Scores], protocol: str) -> str:
    keys = SUMMARY_KEYS[protocol]
    data = {}
    for label, r in results.items():
        data[label] = _json_ready(r, keys, curves=True)
        if "attributes" in r:
            data[label]["attributes"] = {a: _json_ready(s, keys, curves=False) for a, s in r["attributes"].items()}
    return json.dumps(data, indent=2)


def render(results: Mapping[str, Scores], protocol: str, fmt: str = "md", title: str = "") -> str:
    """The whole report in ``fmt``; attribute tables whenever the results carry ``attributes``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    if not results:
        raise ValueError("no trackers to report")
    with_attributes = any("attributes" in r for r in results.values())
    if fmt == "json":
        return to_json(results, protocol)
    if fmt == "csv":
        frame = tidy_frame(results, protocol) if with_attributes else summary_frame(results, protocol)
        return frame.to_csv(index=not with_attributes).rstrip("\n")
    keys = SUMMARY_KEYS[protocol]
    headers = [f"{DISPLAY[k]} (%)" for k in keys]
    parts = [(summary_frame(results, protocol)[list(keys)], "Tracker", headers, title or "Overall")]
    if with_attributes and next(iter(results.values()))["attributes"]:
        for metric in ATTRIBUTE_METRICS:
            frame = attribute_frame(results, metric)
            frame.index = [f"{a} ({n})" for a, n in zip(frame.index, frame["sequences"])]
            parts.append((frame[list(results)], "Attribute (sequences)", list(results),
                          f"{DISPLAY[metric]} (%) by attribute"))
    if fmt == "md":
        return "\n\n".join(f"{caption}\n\n{markdown(f, ix, h)}" for f, ix, h, caption in parts)
    return "\n\n".join(latex(f, ix, h, caption) for f, ix, h, caption in parts)

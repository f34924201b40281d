"""Scores of trackers on a benchmark: per-sequence scoring (cached), overall and per-attribute aggregation.

Entry points for other code: :func:`evaluate_trackers` (``{label: result folder}`` -> ``{label: summary}``), then
:func:`render_table` and :func:`write_plots` on its output.

Cache: one ``.npz`` file per (result folder, protocol) under ``<output root>/test/analysis_cache/``, written
atomically and read with ``allow_pickle=False``: plain arrays, never a pickle, because loading a pickle runs code
and the cache lives in a writable output folder. A file that cannot be read or does not have the expected shape is
a cache miss. An entry is reused only when its key
matches: the result file's path and a digest of its *content*, the protocol, a digest of everything the protocol
reads from the sequence (cleaned and file GT, visibility and absence flags, dataset name), and a digest of the
scoring code (``metrics.py``, ``protocols.py``). Content rather than size + mtime: a same-size rewrite inside the
file system's timestamp granularity would otherwise keep stale scores, and hashing a file costs far less than
parsing it.

Attributes: a key of ``Sequence.attributes`` is a flag attribute when it is 0 or 1 in every sequence that has
attributes; the WebUAV level keys (complexity, size, length: 0/1/2) are never flags, even on a subset where they
happen to be only 0/1. An attribute's score is the mean over the sequences whose flag is 1.
"""
from __future__ import annotations

import functools
import io
import zipfile
from pathlib import Path
from typing import Iterable, Mapping, Sequence as SequenceType

import numpy as np

from lib.paths import output_root
from lib.test.analysis import metrics, protocols
from lib.test.analysis.protocols import PROTOCOLS, aggregate, protocol_inputs, score_sequences
from lib.test.analysis.results_loader import MissingResultsError, check_results_exist, decode_result, describe, \
    parse_result
from lib.test.evaluation.data import Sequence
from lib.test.evaluation.webuav_layout import WEBUAV_ATTRIBUTES
from lib.utils.io import atomic_write, content_digest, safe_filename

Scores = dict  # str -> float | np.ndarray (| int for "sequences")

SUMMARY_KEYS: dict[str, tuple[str, ...]] = {
    "pytracking": ("auc", "precision", "norm_precision"),
    "strict": ("auc", "precision", "norm_precision"),
    "otb": ("auc", "precision", "norm_precision"),
    "webuav": ("auc", "precision", "norm_precision", "cauc", "macc"),
}
LEVEL_KEYS = frozenset(WEBUAV_ATTRIBUTES[14:])  # complexity, size, length: levels 0/1/2, not flags
_CACHE_FORMAT = 3  # 3: npz (1 was a pickle, never read again; 2 a JSON file)
_KEY_FIELDS = 5  # result path, result digest, protocol, GT digest, scorer digest
assert set(SUMMARY_KEYS) == set(PROTOCOLS)


def cache_root() -> Path:
    return output_root() / "test" / "analysis_cache"


@functools.cache
def scorer_digest() -> str:
    """Changes whenever the scoring code changes, so cached scores never outlive it."""
    return content_digest(*(Path(m.__file__).read_bytes() for m in (metrics, protocols)))


def gt_digest(sequence: Sequence) -> str:
    """Everything a protocol reads from the sequence (``protocols.protocol_inputs``)."""
    parts = [np.ascontiguousarray(a).tobytes() for a in (sequence.ground_truth, sequence.file_ground_truth,
                                                        sequence.visible)]
    absent = sequence.absent
    parts += [b"-" if absent is None else np.ascontiguousarray(absent).tobytes(), sequence.dataset.encode()]
    return content_digest(*parts)


def _cache_file(cache_dir: Path, folder: Path, protocol: str) -> Path:
    """Readable name (``<tracker>_<param>_<dataset>``) plus a digest of the absolute folder path."""
    folder = folder.resolve()
    readable = "_".join(p for p in (folder.parent.parent.name, folder.parent.name, folder.name) if p)
    readable = safe_filename(readable)[:100]
    return cache_dir / f"{readable}_{protocol}_{content_digest(str(folder).encode())[:12]}.npz"


def _read_cache(path: Path) -> dict:
    """{sequence: (key, scores)}; anything unreadable or of another shape is an empty cache (a miss)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != _CACHE_FORMAT:
                return {}
            names, keys = data["names"].tolist(), data["keys"]
            if keys.shape != (len(names), _KEY_FIELDS):
                return {}
            columns = {f[len("score_"):]: data[f] for f in data.files if f.startswith("score_")}
            if not columns or any(len(c) != len(names) for c in columns.values()):
                return {}
    except (OSError, ValueError, KeyError, EOFError, TypeError, zipfile.BadZipFile):
        return {}  # missing, truncated, hand-edited, from another version, or holding pickled objects: start afresh
    return {name: (tuple(keys[i].tolist()),
                   {k: (float(c[i]) if c.ndim == 1 else c[i].astype(np.float64)) for k, c in columns.items()})
            for i, name in enumerate(names)}


def _write_cache(path: Path, cache: dict) -> None:
    names = list(cache)
    score_keys = list(cache[names[0]][1])
    arrays = {"format": np.array(_CACHE_FORMAT), "names": np.array(names, dtype=str),
              "keys": np.array([list(cache[n][0]) for n in names], dtype=str)}
    for key in score_keys:
        arrays[f"score_{key}"] = np.stack([np.asarray(cache[n][1][key], dtype=np.float64) for n in names])
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write(path, buffer.getvalue(), fsync=False)  # a cache: losing it to a power cut costs a rescore


def score_tracker(sequences: SequenceType[Sequence], result_folder: str | Path, protocol: str = "pytracking",
                  cache_dir: str | Path | None = None, use_cache: bool = True,
                  gt_digests: Mapping[str, str] | None = None) -> dict[str, Scores]:
    """{sequence name: scores of ``evaluate_sequence``} for one tracker's result folder, in sequence order.

    The sequences not in the cache are scored together in one vectorised pass (``protocols.score_sequences``).
    ``gt_digests`` ({name: :func:`gt_digest`}) saves recomputing them when several folders are scored.
    Raises MissingResultsError (listing every sequence without a file) before scoring anything, and ValueError
    naming the file (and line) for a malformed or wrong-length result.
    """
    if protocol not in SUMMARY_KEYS:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {', '.join(SUMMARY_KEYS)}")
    folder = Path(result_folder)
    paths = check_results_exist(folder, [s.name for s in sequences])
    cache_file = _cache_file(Path(cache_dir) if cache_dir else cache_root(), folder, protocol)
    cache = _read_cache(cache_file) if use_cache else {}
    resolved, scorer = folder.resolve(), scorer_digest()
    scored, keys, todo = {}, {}, []
    for seq in sequences:
        path = paths[seq.name]
        data = path.read_bytes()
        if use_cache:
            digest = gt_digests[seq.name] if gt_digests is not None else gt_digest(seq)
            keys[seq.name] = (str(resolved / path.name), content_digest(data), protocol, digest, scorer)
            entry = cache.get(seq.name)
            if entry is not None and entry[0] == keys[seq.name]:
                scored[seq.name] = entry[1]
                continue
        where = describe(path, seq.name)
        pred = parse_result(decode_result(data), where, empty_rows=protocol == "webuav", frames=len(seq.ground_truth))
        todo.append((seq.name, where, pred, *protocol_inputs(seq, protocol)))
    if todo:
        names, wheres, preds, gts, visibles, tags = zip(*todo)
        for name, scores in zip(names, score_sequences(protocol, preds, gts, visibles, wheres, tags)):
            scored[name] = scores
            if use_cache:
                cache[name] = (keys[name], scores)
        if use_cache:
            _write_cache(cache_file, cache)
    return {seq.name: scored[seq.name] for seq in sequences}


def summarize(per_sequence: Iterable[Scores], drop_zero_success: bool = False) -> Scores:
    """Mean of every score over the sequences, plus ``sequences`` (how many were given).

    ``drop_zero_success`` (MATLAB OTB plots) leaves out sequences whose success curve is all zero and records how
    many in ``dropped``; if that would leave none, all are kept (the means are then those of failed sequences).
    """
    seqs = list(per_sequence)
    kept = [s for s in seqs if np.sum(s["success_curve"]) > 1e-12] if drop_zero_success else seqs
    kept = kept or seqs
    out = aggregate(kept)
    out["sequences"] = len(seqs)
    if drop_zero_success:
        out["dropped"] = len(seqs) - len(kept)
    return out


def attribute_names(sequences: SequenceType[Sequence]) -> list[str]:
    """Flag attributes of a dataset in first-seen order (see the module docstring for the rule)."""
    dicts = [s.attributes for s in sequences if s.attributes]
    names = dict.fromkeys(k for d in dicts for k in d)
    return [k for k in names if k not in LEVEL_KEYS and all(k in d and d[k] in (0, 1) for d in dicts)]


def attribute_scores(sequences: SequenceType[Sequence], per_sequence: Mapping[str, Scores],
                     drop_zero_success: bool = False) -> dict[str, Scores]:
    """{attribute: summary over the sequences with that flag = 1}; attributes no sequence has are left out."""
    out = {}
    for name in attribute_names(sequences):
        members = [per_sequence[s.name] for s in sequences if s.attributes and s.attributes.get(name) == 1]
        if members:
            out[name] = summarize(members, drop_zero_success)
    return out


def evaluate_trackers(sequences: SequenceType[Sequence], folders: Mapping[str, str | Path],
                      protocol: str = "pytracking", attributes: bool = False, cache_dir: str | Path | None = None,
                      use_cache: bool = True, drop_zero_success: bool = False) -> dict[str, Scores]:
    """{label: summary} for each ``{label: result folder}``: the mean scores and curves, ``sequences`` and, with
    ``attributes=True``, ``attributes`` = {attribute: summary}.

    Every folder is checked for missing results first, so one error lists them all.
    """
    if not sequences:
        raise ValueError("the dataset has no sequences")
    names = [s.name for s in sequences]
    problems = []
    for folder in folders.values():
        try:
            check_results_exist(folder, names)
        except MissingResultsError as error:
            problems.append(str(error))
    if problems:
        raise MissingResultsError("; ".join(problems))
    results = {}
    digests = {s.name: gt_digest(s) for s in sequences} if use_cache else None
    for label, folder in folders.items():
        per_sequence = score_tracker(sequences, folder, protocol, cache_dir=cache_dir, use_cache=use_cache,
                                     gt_digests=digests)
        results[label] = summarize(per_sequence.values(), drop_zero_success)
        if attributes:
            results[label]["attributes"] = attribute_scores(sequences, per_sequence, drop_zero_success)
    return results


def infer_protocol(results: Mapping[str, Scores]) -> str:
    """``webuav`` when every summary has its extra scores, else ``pytracking`` (otb renders the same columns)."""
    return "webuav" if all("cauc" in r and "macc" in r for r in results.values()) else "pytracking"


def render_table(results: Mapping[str, Scores], fmt: str = "md", protocol: str | None = None, title: str = "") -> str:
    """Shortcut to ``tables.render`` (imported here lazily: tables imports this module)."""
    from lib.test.analysis.tables import render
    return render(results, protocol or infer_protocol(results), fmt, title=title)


def write_plots(results: Mapping[str, Scores], out_dir: str | Path, title: str = "",
                attributes: bool = False) -> list[Path]:
    """Shortcut to ``plots.plot_report`` (matplotlib is imported only when plots are asked for)."""
    from lib.test.analysis.plots import plot_report
    return plot_report(results, out_dir, title=title, attributes=attributes)

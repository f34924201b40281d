"""Per-sequence scoring protocols: ``pytracking`` (default), ``strict``, ``otb`` and ``webuav``.

Each protocol takes ``pred`` (N, 4) and ``gt`` (T, 4) as ``x, y, w, h`` float arrays, an optional ``visible``
(T,) bool array (False = target absent), and a sequence ``name`` used in error messages. Which GT (the cleaned
one with NaN rows for absent / invalid frames, or the annotation file's) and which flags each protocol reads from a
``Sequence`` is :func:`protocol_inputs`, following what each toolkit's loaders give it. It returns a dict of
floats and curves, all fractions in [0, 1]: ``auc``, ``precision``, ``norm_precision``, ``success_curve``
(21 pts), ``precision_curve`` (51 pts), ``norm_precision_curve`` (51 pts), and for ``webuav`` also ``cauc``,
``complete_success_curve``, ``macc``.
Everything is vectorised over frames, and over sequences: :func:`score_sequences` lays many sequences end to end
and scores them in one pass (the per-sequence functions are that with one sequence), so scoring a benchmark costs
a few numpy calls per tracker rather than a few hundred per sequence.

Common to all protocols
-----------------------
* Thresholds: success ``t = 0, 0.05, ..., 1`` (21; ``pytracking`` and ``strict`` use torch.arange's values, one
  ulp above linspace's at seven points), counted with strict ``IoU > t``; precision ``t = 0..50`` px,
  normalised precision ``t = 0, 0.01, ..., 0.50`` (51 each), counted with ``err <= t``.
* IoU is the box overlap; ``pytracking``, ``strict`` and ``otb`` compute it in the inclusive-pixel arithmetic of
  pytracking and the MATLAB toolkits (``x + w - 1`` corners), ``webuav`` in the got10k toolkit's (``x + w``, +eps,
  clipped); the two are algebraically equal and differ at most in the last bit. Precision centres are
  ``x + (w - 1)/2``. Normalised centre error divides both centres by the **GT** w and h.
* Per-sequence curves divide by the number of GT frames T: invalid / absent frames stay in the denominator.
* AUC is the plain mean of the 21 success-curve points (not a trapezoid).
  Because ``IoU > 1`` never holds, a perfect tracker scores 20/21 = 0.952 (as in all three reference toolkits).
* Aggregation over sequences (:func:`aggregate`): every key is the plain mean of the per-sequence values, each
  sequence weighted equally (the mean curve's AUC equals the mean of the AUCs).
* A result shorter than the GT raises ``ValueError`` naming the sequence and both lengths (``pytracking`` alone
  zero-pads it outside LaSOT, as pytracking does).

``pytracking`` (default): pytracking's ``calc_seq_err_robust`` and curves, quirks included
-----------------------------------------------------------------------------------------
The numbers OSTrack-family papers print (OSTrack, AVLTrack, ... score with pytracking's analysis code). Inputs are
what pytracking's loaders give it: the GT boxes *as the annotation file has them* (``Sequence.raw_ground_truth``:
NaN only where the file says NaN; an absent target's ``0,0,0,0`` row stays as it is) and ``visible`` only on
LaSOT (``~Sequence.absent``; pytracking's other loaders pass no visibility). ``dataset`` is pytracking's dataset
tag, from :data:`PYTRACKING_DATASET_TAGS` (``uav``, ``lasot`` or None). In pytracking's order:

* A prediction with NaN or a negative width/height anywhere raises ``ValueError``.
* NaN in the GT raises ``ValueError``, except on ``uav`` (UAV123 marks unannotated frames NaN).
* A zero-size prediction (w == 0 or h == 0) on a frame whose GT has no NaN takes the previous (already
  repaired) prediction. This happens *before* row 0 is replaced, so frame 1 can inherit the tracker's own row 0.
* Longer results are truncated. Shorter ones: an error on ``lasot``; elsewhere **zero-padded** (the padded frames
  fail), with a ``UserWarning`` naming the sequence.
* Row 0 := GT row 0.
* ``valid = gt_w > 0 and gt_h > 0`` (NaN is not > 0) ``and visible`` (when given).
* Invalid frames: overlap -1 (a failure); normalised centre error -1 (a **hit** at every threshold); centre error
  +inf (a failure), except on ``uav``, where it is -1 (a **hit**).
* On ``lasot`` frames not visible get +inf for both centre errors (failures), which undoes the hit above there.
* IoU, centres and normalised centres use pytracking's own arithmetic (:func:`metrics.inclusive_iou`,
  :func:`metrics.pytracking_center_errors`) and success thresholds (``torch.arange(0, 1.05, 0.05)``,
  :data:`metrics.PYTRACKING_SUCCESS_THRESHOLDS`), so a value on a threshold falls on the same side.
* Precision = curve at 20 px; normalised precision = curve at 0.20. Invalid frames stay in the denominator
  (pytracking's default ``exclude_invalid_frames=False``).
* One difference we keep: pytracking stores each sequence's curves in float32 and averages them in float32; we
  use float64. The two differ by about 1e-7, far below the 0.1 % that tables print.

The hits make scores on sets with absent or unannotated frames higher than the tracker earns: normalised
precision on every set but LaSOT, precision on UAV123. That is what the papers' tables contain.

``strict`` (our correction of ``pytracking``; use it to compare trackers among themselves)
------------------------------------------------------------------------------------------
* The same thresholds, truncation of longer results, zero-size repair and row 0 := GT as ``pytracking``; the
  repair comes after row 0 := GT, and a shorter result is an error on every dataset (nothing is padded).
* Inputs are the cleaned GT (``Sequence.ground_truth``, NaN where absent or invalid) and ``Sequence.visible``;
  NaN GT is never an error.
* ``valid = gt_w > 0 and gt_h > 0 and visible``. Invalid frames are **failures on all three curves** (overlap
  -1, centre errors +inf) on every dataset: a frame without a target to find earns nothing.

``otb`` (MATLAB OTB-2015 / UAV123 / LaSOT toolkit rules)
--------------------------------------------------------
* Inputs: the GT as the annotation file has it (``Sequence.raw_ground_truth``) and ``visible = ~Sequence.absent``
  where the dataset has absence flags (LaSOT-style), else all visible.
* Longer results are truncated to T.
* A result row that is NaN or has ``w <= 0`` or ``h <= 0`` is replaced by the previous (already corrected) row,
  except on frames whose GT is NaN (as the toolkit's ``calcSeqErrRobust``); then row 0 := GT row 0 (the MATLAB
  order). NaN rows left on NaN-GT frames do not matter: those frames are invalid.
* A GT row is valid iff **all four values are > 0** (so a GT box touching x = 0 or y = 0 is invalid, as in MATLAB).
  On invalid-GT frames overlap = -1 (a success failure) and both centre errors = -1 (a precision **hit**).
* If ``visible`` is given, invisible frames fail on all three curves (LaSOT's absent rule).
* Precision = curve at 20 px; normalised precision = curve at 0.20.
* The MATLAB plots additionally drop sequences whose success curve sums to ~0 before averaging: available as
  ``aggregate(..., drop_zero_success=True)``.

``webuav`` (WebUAV-3M toolkit)
------------------------------
* The result length must equal T: shorter **and longer** results raise ``ValueError`` (the toolkit asserts).
* A frame is absent iff its GT row is NaN, all zeros (the toolkit's ``0,0,0,0`` encoding) or ``visible`` is
  False; absent GT rows are scored as the box ``0,0,0,0``, exactly like the toolkit. Absent frames stay in every
  denominator and are in practice failures for every metric below.
* For AUC, Pre, nPre and cAUC, row 0 := GT row 0. NaN predictions are not replaced: they fail every threshold.
* AUC: IoU with ``+eps`` in the union, clipped to [0, 1]; 21 bins, strict ``>``; AUC = mean of the curve.
* Pre: ``(w-1)/2`` centres, curve value at 20 px.
* nPre: centres divided by GT w, h (+1e-16); 51 bins over 0..0.5; **nPre = mean of the 51-point curve** (an AUC),
  not the value at 0.2.
* cAUC: as AUC with IoU replaced by complete IoU (centres ``x + w/2``), clamped to [-1, 1] then clipped to [0, 1];
  NaN (e.g. the 0/0 aspect ratio of an absent GT) fails every bin.
* mAcc (Anti-UAV per-frame rule, no penalty term): ``a_t = IoU`` (0 when there is no overlap or the prediction
  is NaN) if the target exists, else ``a_t = 1`` iff the prediction is *empty*, encoded as an all-NaN row (the
  toolkit's empty line or ``[0]``; a ``0,0,0,0`` prediction is **not** empty). ``macc = mean_t a_t``; row 0 is
  **not** replaced by the GT. The toolkit parses GT as ints; we keep float GT (float result files are preferred).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Optional, Sequence

import numpy as np

from lib.test.analysis import metrics as M

Scores = dict  # str -> float | np.ndarray

_WEBUAV_IOU_EPS = float(np.finfo(np.float64).eps)
_WEBUAV_NORM_EPS = 1e-16
_PRECISION_AT = int(np.flatnonzero(np.isclose(M.PRECISION_THRESHOLDS, M.PRECISION_AT))[0])
_NORM_PRECISION_AT = int(np.flatnonzero(np.isclose(M.NORM_PRECISION_THRESHOLDS, M.NORM_PRECISION_AT))[0])

PYTRACKING_DATASET_TAGS: dict[str, str] = {
    "uav123": "uav", "uav123_10fps": "uav", "uav20l": "uav", "uav20l_nlp": "uav",  # UAV123's annotation files
    "lasot": "lasot",
}
"""Our dataset name -> the dataset tag pytracking's ``calc_seq_err_robust`` switches on. pytracking's ``uav`` is
UAV123; UAV123@10fps, UAV20L and UAV20L-NLP read the same release's annotation files (NaN rows included), so they
get its rule. Every other name gets no tag (pytracking's default rules)."""


# -- sequences laid end to end ---------------------------------------------------------------------------------------

def _check_shapes(pred: np.ndarray, gt: np.ndarray, name: str) -> None:
    for arr, what in ((pred, "prediction"), (gt, "ground truth")):
        if arr.ndim != 2 or arr.shape[1] != 4:
            raise ValueError(f"{name}: {what} must be (N, 4) x,y,w,h, got shape {arr.shape}")
    if len(gt) == 0:
        raise ValueError(f"{name}: empty ground truth")


def _visibility(visible: Optional[np.ndarray], t: int, name: str) -> np.ndarray:
    if visible is None:
        return np.ones(t, dtype=bool)
    vis = np.asarray(visible, dtype=bool).ravel()
    if vis.shape != (t,):
        raise ValueError(f"{name}: visible has {vis.size} entries but the ground truth has {t} frames")
    return vis


@dataclass
class _Batch:
    """Sequences end to end: ``pred`` (a private copy, cut or padded to each GT's length), ``gt``, ``visible`` (all
    True where no flags were given) and ``padded`` per frame; ``starts`` and ``lengths`` per sequence."""

    pred: np.ndarray
    gt: np.ndarray
    visible: np.ndarray
    padded: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    names: list

    @cached_property
    def sequence_of_frame(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.lengths)), self.lengths)

    def per_frame(self, per_sequence) -> np.ndarray:
        return np.repeat(np.asarray(per_sequence), self.lengths)

    def name_at(self, frame: int) -> str:
        return self.names[int(np.searchsorted(self.starts, frame, side="right")) - 1]


def _lay_out(preds, gts, visibles, names, allow_longer: bool, pad_shorter: Sequence[bool] | None = None) -> _Batch:
    """Checks shapes and lengths (errors name the sequence) and concatenates; ``pad_shorter[i]``: zero-pad a short
    result instead of refusing it (pytracking's rule)."""
    ps, gs, vs, pads = [], [], [], []
    pad_shorter = pad_shorter if pad_shorter is not None else [False] * len(names)
    for pred, gt, visible, name, pad in zip(preds, gts, visibles, names, pad_shorter):
        pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
        _check_shapes(pred, gt, name)
        n, t = len(pred), len(gt)
        if n < t and not pad:
            raise ValueError(f"{name}: result has {n} frames but the ground truth has {t}")
        if n > t and not allow_longer:
            raise ValueError(f"{name}: result has {n} frames but the ground truth has {t} (lengths must match)")
        ps.append(pred[:t])
        if n < t:
            ps.append(np.zeros((t - n, 4)))
        pads.append(max(t - n, 0))
        gs.append(gt)
        vs.append(_visibility(visible, t, name))
    lengths = np.array([len(g) for g in gs], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    padded = np.zeros(int(lengths.sum()), dtype=bool)
    for start, length, pad in zip(starts, lengths, pads):
        padded[start + length - pad:start + length] = True
    # column-major: every metric works column by column, and contiguous columns are about twice as fast
    return _Batch(np.asfortranarray(np.concatenate(ps)), np.asfortranarray(np.concatenate(gs)), np.concatenate(vs),
                  padded, starts, lengths, list(names))


def _carry_forward(boxes: np.ndarray, replace: np.ndarray, starts=(0,)) -> np.ndarray:
    """Replace each flagged row by the last unflagged row before it; sequence starts are never replaced, so nothing
    crosses from one sequence into the next. Vectorised."""
    replace = replace.copy()
    replace[np.asarray(starts, dtype=np.int64)] = False
    src = np.where(replace, 0, np.arange(len(boxes)))
    return np.asfortranarray(boxes[np.maximum.accumulate(src)])


def _curves(batch: _Batch, overlap: np.ndarray, err: np.ndarray, norm_err: np.ndarray,
            success_thresholds: np.ndarray = M.SUCCESS_THRESHOLDS) -> dict:
    """Per-sequence curves as (S, K) arrays, and the summary values (precision at 20 px, normalised at 0.20)."""
    seq = batch.sequence_of_frame
    sc = M.grouped_success_curves(overlap, seq, batch.lengths, success_thresholds)
    pc = M.grouped_precision_curves(err, seq, batch.lengths, M.PRECISION_THRESHOLDS)
    npc = M.grouped_precision_curves(norm_err, seq, batch.lengths, M.NORM_PRECISION_THRESHOLDS)
    return {"auc": sc.mean(axis=1), "precision": pc[:, _PRECISION_AT], "norm_precision": npc[:, _NORM_PRECISION_AT],
            "success_curve": sc, "precision_curve": pc, "norm_precision_curve": npc}


def _split(columns: dict) -> list[Scores]:
    """(S, ...) columns -> one Scores dict per sequence (floats and 1-D curves)."""
    n = len(columns["auc"])
    return [{k: (float(v[i]) if v.ndim == 1 else v[i].copy()) for k, v in columns.items()} for i in range(n)]


def _first_bad(batch: _Batch, bad: np.ndarray, message: str) -> None:
    if bad.any():
        raise ValueError(f"{batch.name_at(int(np.argmax(bad)))}: {message}")


# -- protocols, batched ------------------------------------------------------------------------------------------

def _pytracking_batch(preds, gts, visibles, names, tags) -> list[Scores]:
    pad = []
    for pred, gt, visible, name, tag in zip(preds, gts, visibles, names, tags):
        pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
        _check_shapes(pred, gt, name)
        if np.isnan(pred).any() or (pred[:, 2:] < 0).any():  # the whole file, before any cut
            raise ValueError(f"{name}: result contains NaN or negative width/height")
        if tag != "uav" and np.isnan(gt).any():
            nan_rows = np.isnan(gt).any(axis=1)
            raise ValueError(f"{name}: the ground truth has NaN on {int(nan_rows.sum())} frames (first: frame "
                             f"{int(np.argmax(nan_rows))}); pytracking's analysis accepts NaN annotations only on "
                             f"UAV123 (its 'uav' rule); score with --protocol strict")
        if tag == "lasot" and visible is None:
            raise ValueError(f"{name}: pytracking's LaSOT rule needs the visibility flags")
        short = len(pred) < len(gt)
        if short and tag == "lasot":
            raise ValueError(f"{name}: result has {len(pred)} frames but the ground truth has {len(gt)}")
        if short:
            warnings.warn(f"{name}: result has {len(pred)} frames but the ground truth has {len(gt)}; zero-padded "
                          f"(pytracking's rule; --protocol strict refuses it)", stacklevel=3)
        pad.append(short)
    b = _lay_out(preds, gts, visibles, names, allow_longer=True, pad_shorter=pad)
    gt = b.gt
    zero_size = (b.pred[:, 2] == 0) | (b.pred[:, 3] == 0)
    pred = _carry_forward(b.pred, zero_size & ~np.isnan(gt).any(axis=1) & ~b.padded, b.starts)  # pad comes after
    pred[b.starts] = gt[b.starts]  # after the repair, as pytracking does
    with np.errstate(invalid="ignore"):
        valid = (gt[:, 2] > 0) & (gt[:, 3] > 0) & b.visible
    overlap = np.where(valid, M.inclusive_iou(pred, gt), -1.0)
    err, norm_err = M.pytracking_center_errors(pred, gt)
    err = np.where(valid, err, np.where(b.per_frame([t == "uav" for t in tags]), -1.0, np.inf))
    norm_err = np.where(valid, norm_err, -1.0)
    hidden_on_lasot = b.per_frame([t == "lasot" for t in tags]) & ~b.visible
    err[hidden_on_lasot] = np.inf
    norm_err[hidden_on_lasot] = np.inf
    _first_bad(b, np.isnan(overlap), "NaN overlap (a result row with an infinite value?)")
    return _split(_curves(b, overlap, err, norm_err, M.PYTRACKING_SUCCESS_THRESHOLDS))


def _strict_batch(preds, gts, visibles, names, tags) -> list[Scores]:
    b = _lay_out(preds, gts, visibles, names, allow_longer=True)
    pred, gt = b.pred, b.gt
    _first_bad(b, np.isnan(pred).any(axis=1) | (pred[:, 2:] < 0).any(axis=1),
               "result contains NaN or negative width/height")
    pred[b.starts] = gt[b.starts]
    zero_size = (pred[:, 2] == 0) | (pred[:, 3] == 0)
    pred = _carry_forward(pred, zero_size & ~np.isnan(gt).any(axis=1), b.starts)
    with np.errstate(invalid="ignore"):
        valid = (gt[:, 2] > 0) & (gt[:, 3] > 0) & b.visible
    overlap = np.where(valid, M.inclusive_iou(pred, gt), -1.0)
    err, norm_err = M.pytracking_center_errors(pred, gt)
    return _split(_curves(b, overlap, np.where(valid, err, np.inf), np.where(valid, norm_err, np.inf),
                          M.PYTRACKING_SUCCESS_THRESHOLDS))


def _otb_batch(preds, gts, visibles, names, tags) -> list[Scores]:
    b = _lay_out(preds, gts, visibles, names, allow_longer=True)
    gt = b.gt
    with np.errstate(invalid="ignore"):
        bad = np.isnan(b.pred).any(axis=1) | (b.pred[:, 2] <= 0) | (b.pred[:, 3] <= 0)
        gt_ok = (gt > 0).all(axis=1)
    pred = _carry_forward(b.pred, bad & ~np.isnan(gt).any(axis=1), b.starts)
    pred[b.starts] = gt[b.starts]  # after the repair (the MATLAB order)
    overlap = np.where(gt_ok & b.visible, M.inclusive_iou(pred, gt), -1.0)
    err = np.where(gt_ok, M.center_error(pred, gt), -1.0)
    norm_err = np.where(gt_ok, M.normalized_center_error(pred, gt), -1.0)
    err[~b.visible] = np.inf
    norm_err[~b.visible] = np.inf
    return _split(_curves(b, overlap, err, norm_err))


def _webuav_batch(preds, gts, visibles, names, tags) -> list[Scores]:
    b = _lay_out(preds, gts, visibles, names, allow_longer=False)
    raw = b.pred
    absent = np.isnan(b.gt).any(axis=1) | (b.gt == 0).all(axis=1) | ~b.visible
    g = np.asfortranarray(np.where(absent[:, None], 0.0, b.gt))
    p = raw.copy(order="F")
    p[b.starts] = g[b.starts]

    inter, union = M.intersection_union(p, g)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou_eps = inter / (union + _WEBUAV_IOU_EPS)  # the toolkit's rect_iou
        raw_iou = inter / union  # mAcc's own IoU (no eps) on the raw predictions: they differ from p at row 0 only
    raw_iou[b.starts] = M.iou(raw[b.starts], g[b.starts])
    overlap = np.clip(iou_eps, 0.0, 1.0)
    columns = _curves(b, overlap, M.center_error(p, g), M.normalized_center_error(p, g, eps=_WEBUAV_NORM_EPS))
    columns["norm_precision"] = columns["norm_precision_curve"].mean(axis=1)  # toolkit: mean of the 51 points

    ciou = M.complete_iou(p, g, eps=_WEBUAV_IOU_EPS, overlap=iou_eps)
    ciou = np.clip(np.clip(ciou, -1.0, 1.0), 0.0, 1.0)
    csc = M.grouped_success_curves(ciou, b.sequence_of_frame, b.lengths, M.SUCCESS_THRESHOLDS)
    columns["complete_success_curve"] = csc
    columns["cauc"] = csc.mean(axis=1)

    # mAcc on the raw predictions (row 0 not replaced).
    empty = np.isnan(raw).all(axis=1)
    exist_acc = np.nan_to_num(np.clip(raw_iou, 0.0, 1.0), nan=0.0)
    accuracy = np.where(absent, empty.astype(np.float64), exist_acc)
    columns["macc"] = np.add.reduceat(accuracy, b.starts) / b.lengths
    return _split(columns)


_BATCHED = {"pytracking": _pytracking_batch, "strict": _strict_batch, "otb": _otb_batch, "webuav": _webuav_batch}


def score_sequences(protocol: str, preds: Sequence[np.ndarray], gts: Sequence[np.ndarray],
                    visibles: Optional[Sequence[Optional[np.ndarray]]] = None, names: Optional[Sequence[str]] = None,
                    datasets: Optional[Sequence[Optional[str]]] = None) -> list[Scores]:
    """Scores of many sequences with the named protocol, in one vectorised pass; one Scores dict per sequence,
    equal to what the per-sequence function gives for it. ``datasets`` are pytracking's tags (``pytracking`` only).
    An error names the sequence it is about (``names``, default ``sequence <i>``)."""
    if protocol not in _BATCHED:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {sorted(_BATCHED)}")
    n = len(preds)
    if len(gts) != n:
        raise ValueError(f"{n} results but {len(gts)} ground truths")
    if n == 0:
        return []
    visibles = list(visibles) if visibles is not None else [None] * n
    names = list(names) if names is not None else [f"sequence {i}" for i in range(n)]
    datasets = list(datasets) if datasets is not None else [None] * n
    return _BATCHED[protocol](preds, gts, visibles, names, datasets)


# -- one sequence ------------------------------------------------------------------------------------------------

def pytracking(pred: np.ndarray, gt: np.ndarray, visible: Optional[np.ndarray] = None,
               name: str = "sequence", dataset: Optional[str] = None) -> Scores:
    """pytracking's analysis, quirks included (module docstring, section ``pytracking``). ``gt`` is the file's GT,
    ``visible`` pytracking's ``target_visible`` (None but on LaSOT), ``dataset`` its tag (``uav``, ``lasot``)."""
    return _pytracking_batch([pred], [gt], [visible], [name], [dataset])[0]


def strict(pred: np.ndarray, gt: np.ndarray, visible: Optional[np.ndarray] = None,
           name: str = "sequence") -> Scores:
    """pytracking's thresholds with every invalid or absent frame a failure (module docstring, ``strict``)."""
    return _strict_batch([pred], [gt], [visible], [name], [None])[0]


def otb(pred: np.ndarray, gt: np.ndarray, visible: Optional[np.ndarray] = None,
        name: str = "sequence") -> Scores:
    """MATLAB OTB / UAV123 / LaSOT toolkit scores (see the module docstring, section ``otb``)."""
    return _otb_batch([pred], [gt], [visible], [name], [None])[0]


def webuav(pred: np.ndarray, gt: np.ndarray, visible: Optional[np.ndarray] = None,
           name: str = "sequence") -> Scores:
    """WebUAV-3M toolkit scores incl. cAUC and mAcc (see the module docstring, section ``webuav``)."""
    return _webuav_batch([pred], [gt], [visible], [name], [None])[0]


PROTOCOLS: dict[str, Callable[..., Scores]] = {"pytracking": pytracking, "strict": strict, "otb": otb,
                                               "webuav": webuav}


def evaluate_sequence(pred: np.ndarray, gt: np.ndarray, visible: Optional[np.ndarray] = None,
                      name: str = "sequence", protocol: str = "pytracking", dataset: Optional[str] = None) -> Scores:
    """Score one sequence with the named protocol; ``dataset`` is pytracking's tag (used by ``pytracking`` only)."""
    return score_sequences(protocol, [pred], [gt], [visible], [name], [dataset])[0]


def protocol_inputs(sequence, protocol: str) -> tuple[np.ndarray, Optional[np.ndarray], Optional[str]]:
    """(GT, visible, pytracking dataset tag) a protocol scores a ``Sequence`` against (the module docstring says
    why they differ): the file's GT for the toolkits that read files, the cleaned GT for ``strict`` and ``webuav``."""
    if protocol in ("strict", "webuav"):
        return sequence.ground_truth, sequence.visible, None
    absent = getattr(sequence, "absent", None)
    if protocol == "otb":
        return sequence.file_ground_truth, None if absent is None else ~absent, None
    tag = PYTRACKING_DATASET_TAGS.get(sequence.dataset)
    visible = None if tag != "lasot" or absent is None else ~absent
    return sequence.file_ground_truth, visible, tag


def aggregate(per_sequence: Sequence[Scores], drop_zero_success: bool = False) -> Scores:
    """Mean over sequences of every key (equal weight per sequence).

    ``drop_zero_success=True`` applies the MATLAB plotting rule: sequences whose success curve sums to ~0 are
    left out first.
    """
    seqs = list(per_sequence)
    if drop_zero_success:
        seqs = [s for s in seqs if np.sum(s["success_curve"]) > 1e-12]
    if not seqs:
        raise ValueError("no sequences to aggregate")
    keys = set(seqs[0])
    for s in seqs[1:]:
        keys &= set(s)
    out: Scores = {}
    for k in sorted(keys):
        vals = np.stack([np.asarray(s[k], dtype=np.float64) for s in seqs])
        mean = vals.mean(axis=0)
        out[k] = float(mean) if mean.ndim == 0 else mean
    return out

"""Per-sequence scoring protocols: ``pytracking`` (default), ``otb`` and ``webuav``.

Each protocol takes ``pred`` (N, 4) and ``gt`` (T, 4) as ``x, y, w, h`` float arrays, where GT rows are NaN for
absent / unannotated frames, an optional ``visible`` (T,) bool array (False = target absent), and a sequence
``name`` used in error messages. It returns a dict of floats and curves, all fractions in [0, 1]:
``auc``, ``precision``, ``norm_precision``, ``success_curve`` (21 pts), ``precision_curve`` (51 pts),
``norm_precision_curve`` (51 pts), and for ``webuav`` also ``cauc``, ``complete_success_curve``, ``macc``.
Everything is vectorised over frames.

Common to all protocols
-----------------------
* Thresholds: success ``t = 0, 0.05, ..., 1`` (21), counted with strict ``IoU > t``; precision ``t = 0..50`` px,
  normalised precision ``t = 0, 0.01, ..., 0.50`` (51 each), counted with ``err <= t``.
* IoU is the continuous box overlap (the inclusive-pixel ``x + w - 1`` form used by the MATLAB toolkits and
  pytracking is algebraically the same). Precision centres are ``x + (w - 1)/2``. Normalised centre error divides
  both centres by the **GT** w and h.
* Per-sequence curves divide by the number of GT frames T: invalid / absent frames stay in the denominator.
* AUC is the plain mean of the 21 success-curve points (not a trapezoid).
  Because ``IoU > 1`` never holds, a perfect tracker scores 20/21 = 0.952 (as in all three reference toolkits).
* Aggregation over sequences (:func:`aggregate`): every key is the plain mean of the per-sequence values, each
  sequence weighted equally (the mean curve's AUC equals the mean of the AUCs).
* A result shorter than the GT raises ``ValueError`` naming the sequence and both lengths.

``pytracking`` (default; LaSOT-style rules as in OSTrack/pytracking, with one rule per metric)
----------------------------------------------------------------------------------------------
* Longer results are truncated to T (the LaSOT rule; we never zero-pad).
* A prediction containing NaN or a negative width/height raises ``ValueError`` (the reference raises too).
* Row 0 := GT row 0. Then a zero-size prediction (w == 0 or h == 0) on a frame whose GT is not NaN is replaced by
  the previous (already corrected) prediction.
* ``valid = gt_w > 0 and gt_h > 0`` (NaN GT is invalid) ``and visible`` (if given).
* Invalid frames are **failures on all three curves** (overlap -1, centre errors +inf). Deviation from the
  reference, deliberately: the reference switches on dataset names and counts invalid frames as *hits* for
  precision on UAV123 and for normalised precision on every dataset except LaSOT, which inflates those scores.
* Precision = curve at 20 px; normalised precision = curve at 0.20.

``otb`` (MATLAB OTB-2015 / UAV123 / LaSOT toolkit rules)
--------------------------------------------------------
* Longer results are truncated to T.
* Row 0 := GT row 0. A result row that is NaN or has ``w <= 0`` or ``h <= 0`` is replaced by the previous
  (already corrected) row, except on frames whose GT is NaN (as the toolkit's ``calcSeqErrRobust``). NaN rows left
  on NaN-GT frames do not matter: those frames are invalid.
  (The MATLAB code replaces row 1 after the carry-forward loop; we replace it first, which only differs when the
  tracker's own first two rows are both invalid.)
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

from typing import Callable, Optional, Sequence

import numpy as np

from lib.test.analysis import metrics as M

Scores = dict  # str -> float | np.ndarray

_WEBUAV_IOU_EPS = float(np.finfo(np.float64).eps)
_WEBUAV_NORM_EPS = 1e-16


# -- shared helpers --------------------------------------------------------------------------------------------------

def _prepare(pred: np.ndarray, gt: np.ndarray, visible: Optional[np.ndarray], name: str,
             allow_longer: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate shapes and lengths; returns (pred truncated to T, copied), gt, visible (all True if None)."""
    pred = np.array(pred, dtype=np.float64, copy=True)
    gt = np.asarray(gt, dtype=np.float64)
    for arr, what in ((pred, "prediction"), (gt, "ground truth")):
        if arr.ndim != 2 or arr.shape[1] != 4:
            raise ValueError(f"{name}: {what} must be (N, 4) x,y,w,h, got shape {arr.shape}")
    n, t = len(pred), len(gt)
    if n < t:
        raise ValueError(f"{name}: result has {n} frames but the ground truth has {t}")
    if n > t and not allow_longer:
        raise ValueError(f"{name}: result has {n} frames but the ground truth has {t} (lengths must match)")
    if t == 0:
        raise ValueError(f"{name}: empty ground truth")
    if visible is None:
        vis = np.ones(t, dtype=bool)
    else:
        vis = np.asarray(visible, dtype=bool).ravel()
        if vis.shape != (t,):
            raise ValueError(f"{name}: visible has {vis.size} entries but the ground truth has {t} frames")
    return pred[:t], gt, vis


def _carry_forward(boxes: np.ndarray, replace: np.ndarray) -> np.ndarray:
    """Replace each flagged row by the last unflagged row before it (row 0 is never replaced). Vectorised."""
    replace = replace.copy()
    replace[0] = False
    src = np.where(replace, 0, np.arange(len(boxes)))
    return boxes[np.maximum.accumulate(src)]


def _curves(overlap: np.ndarray, err: np.ndarray, norm_err: np.ndarray) -> Scores:
    """Standard curves + summary values (precision at 20 px, normalised precision at 0.20)."""
    sc = M.success_curve(overlap, M.SUCCESS_THRESHOLDS)
    pc = M.precision_curve(err, M.PRECISION_THRESHOLDS)
    npc = M.precision_curve(norm_err, M.NORM_PRECISION_THRESHOLDS)
    return {
        "auc": M.auc(sc),
        "precision": M.value_at(pc, M.PRECISION_THRESHOLDS, M.PRECISION_AT),
        "norm_precision": M.value_at(npc, M.NORM_PRECISION_THRESHOLDS, M.NORM_PRECISION_AT),
        "success_curve": sc,
        "precision_curve": pc,
        "norm_precision_curve": npc,
    }


# -- protocols -------------------------------------------------------------------------------------------------------

def pytracking(pred: np.ndarray, gt: np.ndarray, visible: Optional[np.ndarray] = None,
               name: str = "sequence") -> Scores:
    """pytracking / OSTrack / LaSOT-style scores (see the module docstring, section ``pytracking``)."""
    pred, gt, vis = _prepare(pred, gt, visible, name, allow_longer=True)
    if np.isnan(pred).any() or (pred[:, 2:] < 0).any():
        raise ValueError(f"{name}: result contains NaN or negative width/height")
    gt_nan = np.isnan(gt).any(axis=1)
    pred[0] = gt[0]
    zero_size = (pred[:, 2] == 0) | (pred[:, 3] == 0)
    pred = _carry_forward(pred, zero_size & ~gt_nan)

    with np.errstate(invalid="ignore"):
        valid = (gt[:, 2] > 0) & (gt[:, 3] > 0) & vis
    overlap = np.where(valid, M.iou(pred, gt), -1.0)
    err = np.where(valid, M.center_error(pred, gt), np.inf)
    norm_err = np.where(valid, M.normalized_center_error(pred, gt), np.inf)
    return _curves(overlap, err, norm_err)


def otb(pred: np.ndarray, gt: np.ndarray, visible: Optional[np.ndarray] = None,
        name: str = "sequence") -> Scores:
    """MATLAB OTB / UAV123 / LaSOT toolkit scores (see the module docstring, section ``otb``)."""
    pred, gt, vis = _prepare(pred, gt, visible, name, allow_longer=True)
    gt_nan = np.isnan(gt).any(axis=1)
    pred[0] = gt[0]
    with np.errstate(invalid="ignore"):
        bad = np.isnan(pred).any(axis=1) | (pred[:, 2] <= 0) | (pred[:, 3] <= 0)
        gt_ok = (gt > 0).all(axis=1)
    pred = _carry_forward(pred, bad & ~gt_nan)

    overlap = np.where(gt_ok, M.iou(pred, gt), -1.0)
    err = np.where(gt_ok, M.center_error(pred, gt), -1.0)
    norm_err = np.where(gt_ok, M.normalized_center_error(pred, gt), -1.0)
    overlap[~vis] = -1.0
    err[~vis] = np.inf
    norm_err[~vis] = np.inf
    return _curves(overlap, err, norm_err)


def webuav(pred: np.ndarray, gt: np.ndarray, visible: Optional[np.ndarray] = None,
           name: str = "sequence") -> Scores:
    """WebUAV-3M toolkit scores incl. cAUC and mAcc (see the module docstring, section ``webuav``)."""
    raw, gt, vis = _prepare(pred, gt, visible, name, allow_longer=False)
    absent = np.isnan(gt).any(axis=1) | (gt == 0).all(axis=1) | ~vis
    g = np.where(absent[:, None], 0.0, gt)
    p = raw.copy()
    p[0] = g[0]

    overlap = np.clip(M.iou(p, g, eps=_WEBUAV_IOU_EPS), 0.0, 1.0)
    err = M.center_error(p, g)
    norm_err = M.normalized_center_error(p, g, eps=_WEBUAV_NORM_EPS)
    scores = _curves(overlap, err, norm_err)
    scores["norm_precision"] = M.auc(scores["norm_precision_curve"])  # toolkit: mean of the 51 points

    ciou = np.clip(np.clip(M.complete_iou(p, g, eps=_WEBUAV_IOU_EPS), -1.0, 1.0), 0.0, 1.0)
    csc = M.success_curve(ciou, M.SUCCESS_THRESHOLDS)
    scores["complete_success_curve"] = csc
    scores["cauc"] = M.auc(csc)

    # mAcc on the raw predictions (row 0 not replaced).
    empty = np.isnan(raw).all(axis=1)
    exist_acc = np.nan_to_num(np.clip(M.iou(raw, g), 0.0, 1.0), nan=0.0)
    scores["macc"] = float(np.mean(np.where(absent, empty.astype(np.float64), exist_acc)))
    return scores


PROTOCOLS: dict[str, Callable[..., Scores]] = {"pytracking": pytracking, "otb": otb, "webuav": webuav}


def evaluate_sequence(pred: np.ndarray, gt: np.ndarray, visible: Optional[np.ndarray] = None,
                      name: str = "sequence", protocol: str = "pytracking") -> Scores:
    """Score one sequence with the named protocol."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {sorted(PROTOCOLS)}")
    return PROTOCOLS[protocol](pred, gt, visible=visible, name=name)


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

"""Per-sequence scoring protocols: ``pytracking`` (default), ``strict``, ``otb`` and ``webuav``.

Each protocol takes ``pred`` (N, 4) and ``gt`` (T, 4) as ``x, y, w, h`` float arrays, an optional ``visible``
(T,) bool array (False = target absent), and a sequence ``name`` used in error messages. Which GT (the cleaned
one with NaN rows for absent / invalid frames, or the annotation file's) and which flags each protocol reads from a
``Sequence`` is :func:`protocol_inputs`, following what each toolkit's loaders give it. It returns a dict of floats and curves, all fractions in [0, 1]:
``auc``, ``precision``, ``norm_precision``, ``success_curve`` (21 pts), ``precision_curve`` (51 pts),
``norm_precision_curve`` (51 pts), and for ``webuav`` also ``cauc``, ``complete_success_curve``, ``macc``.
Everything is vectorised over frames.

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
from typing import Callable, Optional, Sequence

import numpy as np

from lib.test.analysis import metrics as M

Scores = dict  # str -> float | np.ndarray

_WEBUAV_IOU_EPS = float(np.finfo(np.float64).eps)
_WEBUAV_NORM_EPS = 1e-16


# -- shared helpers --------------------------------------------------------------------------------------------------

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


def _prepare(pred: np.ndarray, gt: np.ndarray, visible: Optional[np.ndarray], name: str,
             allow_longer: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate shapes and lengths; returns (pred truncated to T, copied), gt, visible (all True if None)."""
    pred = np.array(pred, dtype=np.float64, copy=True)
    gt = np.asarray(gt, dtype=np.float64)
    _check_shapes(pred, gt, name)
    n, t = len(pred), len(gt)
    if n < t:
        raise ValueError(f"{name}: result has {n} frames but the ground truth has {t}")
    if n > t and not allow_longer:
        raise ValueError(f"{name}: result has {n} frames but the ground truth has {t} (lengths must match)")
    return pred[:t], gt, _visibility(visible, t, name)


def _carry_forward(boxes: np.ndarray, replace: np.ndarray) -> np.ndarray:
    """Replace each flagged row by the last unflagged row before it (row 0 is never replaced). Vectorised."""
    replace = replace.copy()
    replace[0] = False
    src = np.where(replace, 0, np.arange(len(boxes)))
    return boxes[np.maximum.accumulate(src)]


def _curves(overlap: np.ndarray, err: np.ndarray, norm_err: np.ndarray,
            success_thresholds: np.ndarray = M.SUCCESS_THRESHOLDS) -> Scores:
    """Standard curves + summary values (precision at 20 px, normalised precision at 0.20)."""
    sc = M.success_curve(overlap, success_thresholds)
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

PYTRACKING_DATASET_TAGS: dict[str, str] = {
    "uav123": "uav", "uav123_10fps": "uav", "uav20l": "uav", "uav20l_nlp": "uav",  # UAV123's annotation files
    "lasot": "lasot",
}
"""Our dataset name -> the dataset tag pytracking's ``calc_seq_err_robust`` switches on. pytracking's ``uav`` is
UAV123; UAV123@10fps, UAV20L and UAV20L-NLP read the same release's annotation files (NaN rows included), so they
get its rule. Every other name gets no tag (pytracking's default rules)."""


def _pytracking_errors(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray,
                       invalid_center_error: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Overlap and both centre errors with pytracking's arithmetic; invalid frames get overlap -1, normalised
    error -1 and ``invalid_center_error``."""
    overlap = np.where(valid, M.inclusive_iou(pred, gt), -1.0)
    err, norm_err = M.pytracking_center_errors(pred, gt)
    return overlap, np.where(valid, err, invalid_center_error), np.where(valid, norm_err, -1.0)


def _pytracking_curves(overlap: np.ndarray, err: np.ndarray, norm_err: np.ndarray) -> Scores:
    return _curves(overlap, err, norm_err, M.PYTRACKING_SUCCESS_THRESHOLDS)


def pytracking(pred: np.ndarray, gt: np.ndarray, visible: Optional[np.ndarray] = None,
               name: str = "sequence", dataset: Optional[str] = None) -> Scores:
    """pytracking's analysis, quirks included (module docstring, section ``pytracking``). ``gt`` is the file's GT,
    ``visible`` pytracking's ``target_visible`` (None but on LaSOT), ``dataset`` its tag (``uav``, ``lasot``)."""
    pred = np.array(pred, dtype=np.float64, copy=True)
    gt = np.asarray(gt, dtype=np.float64)
    _check_shapes(pred, gt, name)
    if np.isnan(pred).any() or (pred[:, 2:] < 0).any():
        raise ValueError(f"{name}: result contains NaN or negative width/height")
    gt_nan = np.isnan(gt).any(axis=1)
    if gt_nan.any() and dataset != "uav":
        raise ValueError(f"{name}: the ground truth has NaN on {int(gt_nan.sum())} frames (first: frame "
                         f"{int(np.argmax(gt_nan))}); pytracking's analysis accepts NaN annotations only on UAV123 "
                         f"(its 'uav' rule); score with --protocol strict")
    t = len(gt)
    head = min(len(pred), t)
    zero_size = np.zeros(len(pred), dtype=bool)
    zero_size[:head] = ((pred[:head, 2] == 0) | (pred[:head, 3] == 0)) & ~gt_nan[:head]
    pred = _carry_forward(pred, zero_size)  # before row 0 := GT, as pytracking does
    if len(pred) < t:
        if dataset == "lasot":
            raise ValueError(f"{name}: result has {len(pred)} frames but the ground truth has {t}")
        warnings.warn(f"{name}: result has {len(pred)} frames but the ground truth has {t}; zero-padded "
                      f"(pytracking's rule; --protocol strict refuses it)", stacklevel=2)
        pred = np.vstack([pred, np.zeros((t - len(pred), 4))])
    pred = pred[:t]
    pred[0] = gt[0]
    vis = _visibility(visible, t, name)
    if dataset == "lasot" and visible is None:
        raise ValueError(f"{name}: pytracking's LaSOT rule needs the visibility flags")
    with np.errstate(invalid="ignore"):
        valid = (gt[:, 2] > 0) & (gt[:, 3] > 0) & vis
    overlap, err, norm_err = _pytracking_errors(pred, gt, valid, -1.0 if dataset == "uav" else np.inf)
    if dataset == "lasot":
        err[~vis] = np.inf
        norm_err[~vis] = np.inf
    if np.isnan(overlap).any():
        raise ValueError(f"{name}: NaN overlap (a result row with an infinite value?)")
    return _pytracking_curves(overlap, err, norm_err)


def strict(pred: np.ndarray, gt: np.ndarray, visible: Optional[np.ndarray] = None,
           name: str = "sequence") -> Scores:
    """pytracking's thresholds with every invalid or absent frame a failure (module docstring, ``strict``)."""
    pred, gt, vis = _prepare(pred, gt, visible, name, allow_longer=True)
    if np.isnan(pred).any() or (pred[:, 2:] < 0).any():
        raise ValueError(f"{name}: result contains NaN or negative width/height")
    gt_nan = np.isnan(gt).any(axis=1)
    pred[0] = gt[0]
    zero_size = (pred[:, 2] == 0) | (pred[:, 3] == 0)
    pred = _carry_forward(pred, zero_size & ~gt_nan)
    with np.errstate(invalid="ignore"):
        valid = (gt[:, 2] > 0) & (gt[:, 3] > 0) & vis
    overlap, err, norm_err = _pytracking_errors(pred, gt, valid, np.inf)
    norm_err[~valid] = np.inf
    return _pytracking_curves(overlap, err, norm_err)


def otb(pred: np.ndarray, gt: np.ndarray, visible: Optional[np.ndarray] = None,
        name: str = "sequence") -> Scores:
    """MATLAB OTB / UAV123 / LaSOT toolkit scores (see the module docstring, section ``otb``)."""
    pred, gt, vis = _prepare(pred, gt, visible, name, allow_longer=True)
    gt_nan = np.isnan(gt).any(axis=1)
    with np.errstate(invalid="ignore"):
        bad = np.isnan(pred).any(axis=1) | (pred[:, 2] <= 0) | (pred[:, 3] <= 0)
        gt_ok = (gt > 0).all(axis=1)
    pred = _carry_forward(pred, bad & ~gt_nan)
    pred[0] = gt[0]

    overlap = np.where(gt_ok, M.inclusive_iou(pred, gt), -1.0)
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


PROTOCOLS: dict[str, Callable[..., Scores]] = {"pytracking": pytracking, "strict": strict, "otb": otb,
                                               "webuav": webuav}


def evaluate_sequence(pred: np.ndarray, gt: np.ndarray, visible: Optional[np.ndarray] = None,
                      name: str = "sequence", protocol: str = "pytracking", dataset: Optional[str] = None) -> Scores:
    """Score one sequence with the named protocol; ``dataset`` is pytracking's tag (used by ``pytracking`` only)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {sorted(PROTOCOLS)}")
    if protocol == "pytracking":
        return pytracking(pred, gt, visible=visible, name=name, dataset=dataset)
    return PROTOCOLS[protocol](pred, gt, visible=visible, name=name)


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

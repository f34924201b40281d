"""Per-frame tracking metrics on (N, 4) ``x, y, w, h`` numpy arrays, and threshold curves.

All functions are vectorised over frames (no Python loop). NaN inputs propagate to NaN outputs; the curve
functions count a NaN as a *failure* at every threshold, so callers mark frames they want to fail with NaN
(or with -1 / +inf as the reference toolkits do, which gives the same result).

Conventions (see ``protocols.py`` for which protocol uses which):

* IoU is the continuous overlap of ``[x, x + w) x [y, y + h)``; the pytracking / OTB inclusive-pixel form
  (corners ``x + w - 1``, sizes ``+1``) is algebraically identical, so one function serves all protocols.
* Centres for the precision metrics use ``x + (w - 1) / 2`` (OTB / LaSOT / pytracking / WebUAV convention).
* Complete IoU (WebUAV-3M cAUC) uses centres ``x + w / 2`` and the CIoU formula of Zheng et al.
* Success counts ``value > t`` (strict); precision counts ``error <= t``.
"""
from __future__ import annotations

import numpy as np

# Thresholds shared by all protocols (LaSOT / OTB / pytracking / WebUAV-3M).
SUCCESS_THRESHOLDS: np.ndarray = np.linspace(0.0, 1.0, 21)  # 0, 0.05, ..., 1
PRECISION_THRESHOLDS: np.ndarray = np.arange(0, 51, dtype=np.float64)  # 0..50 px
NORM_PRECISION_THRESHOLDS: np.ndarray = np.arange(0, 51, dtype=np.float64) / 100.0  # 0..0.50
PRECISION_AT: float = 20.0  # px
NORM_PRECISION_AT: float = 0.20

# pytracking's ``torch.arange(0.0, 1.05, 0.05, dtype=torch.float64)``: seven of these points lie one ulp above
# ``linspace``'s (0.15000000000000002, ...), which decides ``IoU > t`` for an IoU of exactly that float.
PYTRACKING_SUCCESS_THRESHOLDS: np.ndarray = np.array([
    0.0, 0.05, 0.1, 0.15000000000000002, 0.2, 0.25, 0.30000000000000004, 0.35000000000000003, 0.4, 0.45, 0.5,
    0.55, 0.6000000000000001, 0.6500000000000001, 0.7000000000000001, 0.7500000000000001, 0.8, 0.8500000000000001,
    0.9, 0.9500000000000001, 1.0])


def _as_boxes(b: np.ndarray) -> np.ndarray:
    b = np.asarray(b, dtype=np.float64)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"expected an (N, 4) x,y,w,h array, got shape {b.shape}")
    return b


def intersection_union(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame (intersection area, union area) of ``[x, x + w) x [y, y + h)`` boxes: the parts of :func:`iou`,
    for callers that need the IoU with several ``eps`` (the WebUAV-3M toolkit does)."""
    p, g = _as_boxes(pred), _as_boxes(gt)
    iw = np.minimum(p[:, 0] + p[:, 2], g[:, 0] + g[:, 2]) - np.maximum(p[:, 0], g[:, 0])
    ih = np.minimum(p[:, 1] + p[:, 3], g[:, 1] + g[:, 3]) - np.maximum(p[:, 1], g[:, 1])
    inter = np.clip(iw, 0.0, None) * np.clip(ih, 0.0, None)
    return inter, p[:, 2] * p[:, 3] + g[:, 2] * g[:, 3] - inter


def iou(pred: np.ndarray, gt: np.ndarray, eps: float = 0.0) -> np.ndarray:
    """Intersection over union per frame, in [0, 1].

    ``inter / (w_p*h_p + w_g*h_g - inter + eps)``. With ``eps=0`` a zero union gives NaN (0/0).
    Negative sizes are not clipped (callers validate them).
    """
    inter, union = intersection_union(pred, gt)
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / (union + eps)


def inclusive_iou(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU in the inclusive-pixel arithmetic of pytracking and the MATLAB toolkits, operation for operation.

    Corners ``x + w - 1``, intersection sides ``min - max + 1`` clipped at 0, union ``w_p*h_p + w_g*h_g - inter``.
    Algebraically :func:`iou`; kept separate so the last bit, and with it an IoU lying exactly on a threshold,
    matches those toolkits.
    """
    p, g = _as_boxes(pred), _as_boxes(gt)
    tl = np.maximum(p[:, :2], g[:, :2])
    br = np.minimum(p[:, :2] + p[:, 2:] - 1.0, g[:, :2] + g[:, 2:] - 1.0)
    side = np.clip(br - tl + 1.0, 0.0, None)
    inter = side[:, 0] * side[:, 1]
    union = p[:, 2] * p[:, 3] + g[:, 2] * g[:, 3] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def complete_iou(pred: np.ndarray, gt: np.ndarray, eps: float = 1e-7,
                 overlap: np.ndarray | None = None) -> np.ndarray:
    """Complete IoU (CIoU) per frame, *not* clipped: ``IoU - rho^2/c^2 - alpha*v``.

    rho = distance between centres ``(x + w/2, y + h/2)``; c = diagonal of the smallest enclosing box;
    ``v = 4/pi^2 * (atan(w_g/h_g) - atan(w_p/h_p))^2``; ``alpha = v / (1 - IoU + v + eps)``.
    IoU uses ``eps`` in the union (``overlap``: that IoU, when the caller has it already). Degenerate boxes (0/0
    aspect) give NaN.
    """
    p, g = _as_boxes(pred), _as_boxes(gt)
    overlap = iou(p, g, eps=eps) if overlap is None else overlap
    rho2 = ((p[:, 0] + p[:, 2] / 2) - (g[:, 0] + g[:, 2] / 2)) ** 2 + \
           ((p[:, 1] + p[:, 3] / 2) - (g[:, 1] + g[:, 3] / 2)) ** 2
    cw = np.maximum(p[:, 0] + p[:, 2], g[:, 0] + g[:, 2]) - np.minimum(p[:, 0], g[:, 0])
    ch = np.maximum(p[:, 1] + p[:, 3], g[:, 1] + g[:, 3]) - np.minimum(p[:, 1], g[:, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        c2 = cw ** 2 + ch ** 2
        v = (4.0 / np.pi ** 2) * (np.arctan(g[:, 2] / g[:, 3]) - np.arctan(p[:, 2] / p[:, 3])) ** 2
        alpha = v / (1.0 - overlap + v + eps)
        return overlap - rho2 / c2 - alpha * v


def centers(boxes: np.ndarray) -> np.ndarray:
    """(N, 2) centres with the pixel convention ``x + (w - 1)/2, y + (h - 1)/2``."""
    b = _as_boxes(boxes)
    return b[:, :2] + (b[:, 2:] - 1.0) / 2.0


def center_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Euclidean distance (px) between ``(w-1)/2`` centres."""
    return np.linalg.norm(centers(pred) - centers(gt), axis=1)


def normalized_center_error(pred: np.ndarray, gt: np.ndarray, eps: float = 0.0) -> np.ndarray:
    """Centre distance after dividing both centres' x by the GT w and y by the GT h (+ ``eps``)."""
    g = _as_boxes(gt)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = g[:, 2:] + eps
        return np.linalg.norm((centers(pred) - centers(g)) / scale, axis=1)


def pytracking_center_errors(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pytracking's ``calc_err_center`` in its own order of operations: (centre error in px, normalised error).

    The normalised form divides each centre by the GT size *before* subtracting (``center_error`` subtracts
    first), which can differ in the last bit.
    """
    p, g = _as_boxes(pred), _as_boxes(gt)
    pc, gc = p[:, :2] + 0.5 * (p[:, 2:] - 1.0), g[:, :2] + 0.5 * (g[:, 2:] - 1.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        err = np.sqrt(((pc - gc) ** 2).sum(axis=1))
        norm = np.sqrt(((pc / g[:, 2:] - gc / g[:, 2:]) ** 2).sum(axis=1))
    return err, norm


def success_curve(overlaps: np.ndarray, thresholds: np.ndarray = SUCCESS_THRESHOLDS) -> np.ndarray:
    """Fraction of frames with ``overlap > t`` (strict) for each t; NaN counts as failure. The denominator is all
    frames passed in. (:func:`grouped_success_curves` with one sequence.)"""
    o = np.asarray(overlaps, dtype=np.float64).ravel()
    if o.size == 0:
        return np.zeros(len(thresholds))
    return grouped_success_curves(o, np.zeros(o.size, dtype=np.int64), np.array([o.size]), thresholds)[0]


def precision_curve(errors: np.ndarray, thresholds: np.ndarray = PRECISION_THRESHOLDS) -> np.ndarray:
    """Fraction of frames with ``error <= t`` for each t; NaN counts as failure. Denominator = all frames.
    (:func:`grouped_precision_curves` with one sequence.)"""
    e = np.asarray(errors, dtype=np.float64).ravel()
    if e.size == 0:
        return np.zeros(len(thresholds))
    return grouped_precision_curves(e, np.zeros(e.size, dtype=np.int64), np.array([e.size]), thresholds)[0]


def _bin_counts(values: np.ndarray, sequence_of_frame: np.ndarray, n_sequences: int,
                thresholds: np.ndarray) -> np.ndarray:
    """(S, K + 1) counts: how many frames of each sequence have exactly j thresholds strictly below their value."""
    below = np.searchsorted(thresholds, values, side="left")  # number of thresholds < value
    k = len(thresholds) + 1
    return np.bincount(sequence_of_frame * k + below, minlength=n_sequences * k).reshape(n_sequences, k)


def grouped_success_curves(overlaps: np.ndarray, sequence_of_frame: np.ndarray, lengths: np.ndarray,
                           thresholds: np.ndarray = SUCCESS_THRESHOLDS) -> np.ndarray:
    """:func:`success_curve` of many sequences at once: (S, K), row s over the frames with
    ``sequence_of_frame == s``, divided by ``lengths[s]``. One pass over all frames, no (N, K) matrix."""
    o = np.asarray(overlaps, dtype=np.float64)
    counts = _bin_counts(np.where(np.isnan(o), -np.inf, o), sequence_of_frame, len(lengths), thresholds)
    above = np.cumsum(counts[:, ::-1], axis=1)[:, ::-1]  # above[:, j] = frames with >= j thresholds below
    return above[:, 1:] / np.asarray(lengths, dtype=np.float64)[:, None]  # value > t_k <=> k + 1 thresholds below


def grouped_precision_curves(errors: np.ndarray, sequence_of_frame: np.ndarray, lengths: np.ndarray,
                             thresholds: np.ndarray = PRECISION_THRESHOLDS) -> np.ndarray:
    """:func:`precision_curve` of many sequences at once (see :func:`grouped_success_curves`)."""
    e = np.asarray(errors, dtype=np.float64)
    counts = _bin_counts(np.where(np.isnan(e), np.inf, e), sequence_of_frame, len(lengths), thresholds)
    return np.cumsum(counts, axis=1)[:, :-1] / np.asarray(lengths, dtype=np.float64)[:, None]  # err <= t_k


def auc(curve: np.ndarray) -> float:
    """Area under a success curve as the plain mean of its points (OTB/LaSOT/pytracking), not a trapezoid."""
    return float(np.mean(curve))

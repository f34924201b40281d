"""Metrics and scoring protocols on hand-computed cases (lib/test/analysis)."""
from __future__ import annotations

import time

import numpy as np
import pytest

from lib.test.analysis import metrics as M
from lib.test.analysis import protocols as P

FULL = 20 / 21  # a perfect IoU of 1 is not > 1: the 21-point AUC of a perfect tracker is 20/21


def arr(rows) -> np.ndarray:
    return np.asarray(rows, dtype=np.float64)


# -- metrics ---------------------------------------------------------------------------------------------------------

def test_iou_hand_cases():
    a = arr([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 2, 2]])
    b = arr([[5, 5, 10, 10], [0, 0, 10, 10], [20, 0, 5, 5], [1, 0, 2, 2]])
    # 1) inter 5*5=25, union 100+100-25=175 -> 1/7; 2) identical -> 1; 3) disjoint -> 0
    # 4) inter 1*2=2, union 4+4-2=6 -> 1/3
    np.testing.assert_allclose(M.iou(a, b), [1 / 7, 1.0, 0.0, 1 / 3])
    # Inclusive-pixel form (x+w-1 corners, +1 sizes) gives the same: case 1 corners 0..9 and 5..14 -> 5*5 / 175.
    assert np.isnan(M.iou(arr([[0, 0, 0, 0]]), arr([[0, 0, 0, 0]])))[0]  # 0/0 without eps
    assert M.iou(arr([[0, 0, 0, 0]]), arr([[0, 0, 0, 0]]), eps=1e-9)[0] == 0.0


def test_complete_iou_hand_cases():
    same = M.complete_iou(arr([[3, 4, 5, 6]]), arr([[3, 4, 5, 6]]))
    np.testing.assert_allclose(same, [1.0], atol=1e-6)
    # Side by side 2x2 boxes: IoU 0, centres (1,1),(3,1) -> rho^2 = 4; enclosing 4x2 -> c^2 = 20; v = 0 -> -0.2
    np.testing.assert_allclose(M.complete_iou(arr([[2, 0, 2, 2]]), arr([[0, 0, 2, 2]])), [-0.2], atol=1e-6)
    # pred 2x1 inside gt 2x2: IoU 0.5; centres (1,0.5),(1,1) -> rho^2 0.25; c^2 = 8; v = 4/pi^2 (atan 1 - atan 2)^2
    v = 4 / np.pi ** 2 * (np.arctan(1.0) - np.arctan(2.0)) ** 2
    expected = 0.5 - 0.25 / 8 - v / (1 - 0.5 + v) * v
    np.testing.assert_allclose(M.complete_iou(arr([[0, 0, 2, 1]]), arr([[0, 0, 2, 2]])), [expected], atol=1e-6)
    assert np.isnan(M.complete_iou(arr([[0, 0, 2, 2]]), arr([[0, 0, 0, 0]]))[0])  # atan(0/0)


def test_center_errors():
    # centres with (w-1)/2: [0,0,3,3] -> (1,1); [3,4,3,3] -> (4,5); distance 5
    np.testing.assert_allclose(M.center_error(arr([[3, 4, 3, 3]]), arr([[0, 0, 3, 3]])), [5.0])
    # gt [0,0,10,20] centre (4.5,9.5); pred [10,0,10,20] centre (14.5,9.5): dx/gt_w = 10/10 = 1, dy = 0
    np.testing.assert_allclose(M.normalized_center_error(arr([[10, 0, 10, 20]]), arr([[0, 0, 10, 20]])), [1.0])
    # normalised by the GT size, not the prediction's: pred 1x1 box, same dx in px
    np.testing.assert_allclose(M.normalized_center_error(arr([[14, 9, 1, 1]]), arr([[0, 0, 10, 20]])),
                               [np.hypot(9.5 / 10, -0.5 / 20)])


def test_curves_and_auc():
    # strict >: 0 > 0 fails; 1.0 > 0.99 holds; NaN fails
    sc = M.success_curve([0.0, 0.5, 1.0, np.nan], thresholds=np.array([0.0, 0.5, 0.99]))
    np.testing.assert_allclose(sc, [2 / 4, 1 / 4, 1 / 4])
    # <=: 20 <= 20 holds; inf and NaN fail
    pc = M.precision_curve([0.0, 20.0, 20.5, np.inf, np.nan], thresholds=np.array([0.0, 20.0, 50.0]))
    np.testing.assert_allclose(pc, [1 / 5, 2 / 5, 3 / 5])
    assert M.auc(np.array([0.0, 0.5, 1.0])) == pytest.approx(0.5)
    assert len(M.SUCCESS_THRESHOLDS) == 21 and M.SUCCESS_THRESHOLDS[1] == pytest.approx(0.05)
    assert len(M.PRECISION_THRESHOLDS) == 51 and len(M.NORM_PRECISION_THRESHOLDS) == 51


# -- protocols -------------------------------------------------------------------------------------------------------

GT4 = arr([[10, 10, 20, 20], [12, 10, 20, 20], [14, 10, 20, 20], [16, 10, 20, 20]])


@pytest.mark.parametrize("protocol", ["pytracking", "strict", "otb", "webuav"])
def test_perfect_tracker_scores_one(protocol):
    s = P.evaluate_sequence(GT4, GT4, protocol=protocol)
    assert s["auc"] == pytest.approx(FULL)
    assert s["success_curve"][:-1] == pytest.approx(np.ones(20)) and s["success_curve"][-1] == 0.0
    assert s["precision"] == pytest.approx(1.0) and s["norm_precision"] == pytest.approx(1.0)
    assert s["success_curve"].shape == (21,) and s["precision_curve"].shape == (51,)
    assert s["norm_precision_curve"].shape == (51,)
    if protocol == "webuav":
        assert s["cauc"] == pytest.approx(FULL * 1.0) and s["macc"] == pytest.approx(1.0)


@pytest.mark.parametrize("protocol", ["pytracking", "strict", "otb", "webuav"])
def test_frame0_replaced_by_gt(protocol):
    pred = GT4.copy()
    pred[0] = [500, 500, 5, 5]
    s = P.evaluate_sequence(pred, GT4, protocol=protocol)
    assert s["auc"] == pytest.approx(FULL * 1.0) and s["precision"] == pytest.approx(1.0)
    if protocol == "webuav":  # mAcc does not replace row 0: frame 0 IoU = 0 -> 3/4
        assert s["macc"] == pytest.approx(3 / 4)


def test_nan_gt_frame_per_protocol():
    gt = GT4.copy()
    gt[2] = np.nan
    pred = GT4.copy()
    pred[2] = [300, 300, 10, 10]
    # strict: invalid frame fails all three curves -> 3/4
    s = P.strict(pred, gt)
    assert s["auc"] == pytest.approx(FULL * 3 / 4)
    assert s["precision"] == pytest.approx(3 / 4) and s["norm_precision"] == pytest.approx(3 / 4)
    # pytracking: NaN GT is an error except on 'uav', where both centre errors are hits
    with pytest.raises(ValueError, match="NaN.*UAV123"):
        P.pytracking(pred, gt)
    s = P.pytracking(pred, gt, dataset="uav")
    assert s["auc"] == pytest.approx(FULL * 3 / 4)
    assert s["precision"] == pytest.approx(1.0) and s["norm_precision"] == pytest.approx(1.0)
    # otb: overlap fails, centre errors are -1 -> precision hits
    s = P.otb(pred, gt)
    assert s["auc"] == pytest.approx(FULL * 3 / 4)
    assert s["precision"] == pytest.approx(1.0) and s["norm_precision"] == pytest.approx(1.0)
    # webuav: scored against 0,0,0,0 -> failure everywhere; prediction not empty -> mAcc frame = 0
    s = P.webuav(pred, gt)
    assert s["auc"] == pytest.approx(FULL * 3 / 4) and s["precision"] == pytest.approx(3 / 4)
    assert s["cauc"] == pytest.approx(FULL * 3 / 4) and s["macc"] == pytest.approx(3 / 4)


def test_visibility_flags():
    vis = np.array([True, True, False, True])
    s = P.strict(GT4, GT4, visible=vis)
    assert s["auc"] == pytest.approx(FULL * 3 / 4) and s["norm_precision"] == pytest.approx(3 / 4)
    # pytracking: an invisible frame is invalid (overlap and centre error fail, normalised error is a hit) ...
    s = P.pytracking(GT4, GT4, visible=vis)
    assert s["auc"] == pytest.approx(FULL * 3 / 4) and s["precision"] == pytest.approx(3 / 4)
    assert s["norm_precision"] == pytest.approx(1.0)
    # ... except on LaSOT, where invisible frames fail both centre errors
    s = P.pytracking(GT4, GT4, visible=vis, dataset="lasot")
    assert s["precision"] == pytest.approx(3 / 4) and s["norm_precision"] == pytest.approx(3 / 4)
    s = P.otb(GT4, GT4, visible=vis)  # LaSOT absent rule: fails all curves
    assert s["auc"] == pytest.approx(FULL * 3 / 4) and s["precision"] == pytest.approx(3 / 4)
    with pytest.raises(ValueError, match="visible"):
        P.pytracking(GT4, GT4, visible=np.ones(3, bool))


def test_webuav_absent_and_macc():
    gt = GT4.copy()
    gt[1] = 0.0  # toolkit encoding of an absent target
    gt[3] = np.nan  # our encoding
    pred = GT4.copy()
    pred[1] = np.nan  # empty output -> correct on an absent frame
    pred[3] = 0.0  # a 0,0,0,0 box is NOT empty -> wrong
    s = P.webuav(pred, gt)
    assert s["macc"] == pytest.approx((1 + 1 + 1 + 0) / 4)
    assert s["auc"] == pytest.approx(FULL * 2 / 4)  # absent frames fail every bin
    assert s["cauc"] == pytest.approx(FULL * 2 / 4)  # CIoU NaN on 0-size GT
    # frame 3: pred 0,0,0,0 vs gt 0,0,0,0 -> same (w-1)/2 centre, error 0: a precision hit, as in the toolkit
    assert s["precision"] == pytest.approx(3 / 4)


def test_webuav_npre_is_curve_mean():
    gt = arr([[0, 0, 10, 10], [0, 0, 10, 10]])
    pred = arr([[0, 0, 10, 10], [1.25, 0, 10, 10]])  # frame 1: normalised error 0.125
    s = P.webuav(pred, gt)
    # thresholds 0..0.12 (13 pts): only frame 0 hits -> 0.5; 0.13..0.50 (38 pts): 1.0
    assert s["norm_precision"] == pytest.approx((13 * 0.5 + 38 * 1.0) / 51)
    assert P.pytracking(pred, gt)["norm_precision"] == pytest.approx(1.0)  # value at 0.20


def test_zero_size_predictions_carried_forward():
    gt = np.tile(arr([[10, 10, 20, 20]]), (5, 1))
    pred = gt.copy()
    pred[2] = [10, 10, 0, 0]
    pred[3] = [40, 40, 0, 5]  # two in a row: both take frame 1's box
    for f in (P.pytracking, P.strict, P.otb):
        assert f(pred, gt)["auc"] == pytest.approx(FULL * 1.0)
    # webuav does not repair: zero-size boxes give IoU 0 (but centres may still be close)
    assert P.webuav(pred, gt)["auc"] == pytest.approx(FULL * 3 / 5)


def test_carry_forward_matches_sequential_rule():
    rng = np.random.default_rng(0)
    boxes = rng.normal(size=(50, 4))
    bad = rng.random(50) < 0.4
    out = P._carry_forward(boxes, bad)
    ref = boxes.copy()
    for i in range(1, 50):  # the sequential rule the vectorised version must match
        if bad[i]:
            ref[i] = ref[i - 1]
    np.testing.assert_array_equal(out, ref)


def test_nan_and_negative_predictions():
    pred = GT4.copy()
    pred[2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        P.pytracking(pred, GT4)
    neg = GT4.copy()
    neg[1, 2] = -1
    with pytest.raises(ValueError):
        P.pytracking(neg, GT4)
    # otb: invalid result rows take the previous row (frame 1's box on a GT moving 2 px/frame)
    s = P.otb(pred, GT4)
    assert s["precision"] == pytest.approx(1.0)
    assert s["success_curve"][0] == pytest.approx(1.0) and s["auc"] < 1.0
    assert P.otb(neg, GT4)["precision"] == pytest.approx(1.0)
    # webuav: NaN prediction fails its frame
    assert P.webuav(pred, GT4)["auc"] == pytest.approx(FULL * 3 / 4)


def test_zero_size_gt():
    gt = GT4.copy()
    gt[1, 2] = 0
    s = P.strict(GT4, gt)
    assert s["auc"] == pytest.approx(FULL * 3 / 4) and s["precision"] == pytest.approx(3 / 4)
    assert s["norm_precision"] == pytest.approx(3 / 4)
    # pytracking: a zero-size (non-NaN) GT is allowed everywhere; normalised error -1 is a hit, centre error +inf
    # a failure, except on 'uav' (-1, a hit)
    s = P.pytracking(GT4, gt)
    assert s["auc"] == pytest.approx(FULL * 3 / 4) and s["precision"] == pytest.approx(3 / 4)
    assert s["norm_precision"] == pytest.approx(1.0)
    s = P.pytracking(GT4, gt, dataset="uav")
    assert s["auc"] == pytest.approx(FULL * 3 / 4) and s["precision"] == pytest.approx(1.0)
    s = P.otb(GT4, gt)
    assert s["auc"] == pytest.approx(FULL * 3 / 4) and s["precision"] == pytest.approx(1.0)


def test_otb_gt_at_origin_is_invalid():
    gt = GT4.copy()
    gt[1, 0] = 0  # MATLAB rule: every GT value must be > 0
    s = P.otb(gt, gt)
    assert s["auc"] == pytest.approx(FULL * 3 / 4)
    assert P.pytracking(gt, gt)["auc"] == pytest.approx(FULL * 1.0)


def test_length_rules():
    with pytest.raises(ValueError, match=r"seqA.*3.*4"):
        P.strict(GT4[:3], GT4, name="seqA")
    with pytest.raises(ValueError, match=r"seqA.*3.*4"):
        P.pytracking(GT4[:3], GT4, name="seqA", dataset="lasot", visible=np.ones(4, bool))
    for f in (P.otb, P.webuav):
        with pytest.raises(ValueError, match="seqB"):
            f(GT4[:3], GT4, name="seqB")
    longer = np.vstack([GT4, arr([[0, 0, 1, 1]])])
    assert P.pytracking(longer, GT4)["auc"] == pytest.approx(FULL * 1.0)  # truncated
    assert P.strict(longer, GT4)["auc"] == pytest.approx(FULL * 1.0)
    assert P.otb(longer, GT4)["auc"] == pytest.approx(FULL * 1.0)
    with pytest.raises(ValueError, match="must match"):
        P.webuav(longer, GT4)
    with pytest.raises(ValueError, match="unknown protocol"):
        P.evaluate_sequence(GT4, GT4, protocol="vot")


def test_aggregate_is_mean_over_sequences():
    a = P.pytracking(GT4, GT4)
    gt = GT4.copy()
    gt[2:] = np.nan
    b = P.strict(GT4, gt)  # 2 of 4 frames valid
    agg = P.aggregate([a, b])
    assert agg["auc"] == pytest.approx(FULL * (1.0 + 0.5) / 2)
    np.testing.assert_allclose(agg["success_curve"], (a["success_curve"] + b["success_curve"]) / 2)
    assert agg["auc"] == pytest.approx(M.auc(agg["success_curve"]))
    zero = {k: (v * 0 if isinstance(v, np.ndarray) else 0.0) for k, v in a.items()}
    assert P.aggregate([a, zero], drop_zero_success=True)["auc"] == pytest.approx(FULL * 1.0)
    assert P.aggregate([a, zero])["auc"] == pytest.approx(FULL * 0.5)


def test_vectorised_speed():
    """Sanity check that there is no per-frame Python loop (200k frames; a loop would take many seconds)."""
    rng = np.random.default_rng(1)
    n = 200_000
    gt = np.abs(rng.normal(50, 20, (n, 4))) + 1
    pred = gt + rng.normal(0, 3, (n, 4))
    pred[:, 2:] = np.abs(pred[:, 2:]) + 0.1
    gt[::50] = np.nan
    t0 = time.perf_counter()
    for name in P.PROTOCOLS:
        P.evaluate_sequence(pred, gt, protocol=name, dataset="uav")
    assert time.perf_counter() - t0 < 5.0


# -- pytracking, rule by rule (pytracking/analysis/extract_results.py: calc_seq_err_robust and the curves) ---------

def test_pytracking_thresholds_are_torch_arange():
    torch = pytest.importorskip("torch")
    ref = torch.arange(0.0, 1.0 + 0.05, 0.05, dtype=torch.float64).numpy()
    np.testing.assert_array_equal(M.PYTRACKING_SUCCESS_THRESHOLDS, ref)
    assert (M.PYTRACKING_SUCCESS_THRESHOLDS != M.SUCCESS_THRESHOLDS).any()  # not linspace, bit for bit
    np.testing.assert_array_equal(M.NORM_PRECISION_THRESHOLDS, torch.arange(0, 51, dtype=torch.float64).numpy() / 100)


def test_inclusive_iou_and_pytracking_centres_by_hand():
    p, g = arr([[10, 10, 20, 20]]), arr([[15, 12, 10, 30]])
    # corners x+w-1: p (10..29, 10..29), g (15..24, 12..41); sides 24-15+1 = 10, 29-12+1 = 18
    assert M.inclusive_iou(p, g)[0] == pytest.approx(180 / (400 + 300 - 180))
    rng = np.random.default_rng(3)
    a = np.abs(rng.normal(50, 20, (1000, 4))) + 1
    b = np.abs(rng.normal(50, 20, (1000, 4))) + 1
    np.testing.assert_allclose(M.inclusive_iou(a, b), M.iou(a, b), rtol=0, atol=1e-12)
    err, norm = M.pytracking_center_errors(p, g)
    # centres x + 0.5(w-1): p (19.5, 19.5), g (19.5, 26.5); normalised by g's 10, 30
    assert err[0] == pytest.approx(7.0) and norm[0] == pytest.approx(abs(19.5 / 30 - 26.5 / 30))


def test_pytracking_zero_size_repair_comes_before_frame0():
    pred = GT4.copy()
    pred[0] = [500, 500, 5, 5]  # the tracker's own row 0 (replaced by the GT afterwards)
    pred[1] = [12, 10, 0, 20]  # zero width: takes the previous row *before* row 0 := GT
    s = P.pytracking(pred, GT4)
    assert s["auc"] == pytest.approx(FULL * 3 / 4) and s["precision"] == pytest.approx(3 / 4)
    # strict repairs after row 0 := GT: frame 1 gets GT row 0, 2 px off: IoU 360/440 = 0.818 (passes up to 0.8)
    s = P.strict(pred, GT4)
    expected = (3 + (M.PYTRACKING_SUCCESS_THRESHOLDS < 360 / 440)) / 4
    np.testing.assert_allclose(s["success_curve"], np.where(M.PYTRACKING_SUCCESS_THRESHOLDS < 1, expected, 0))
    assert s["precision"] == pytest.approx(1.0)


def test_pytracking_zero_size_repair_skips_nan_gt_frames():
    gt = np.tile(arr([[10, 10, 20, 20]]), (4, 1))
    gt[2] = np.nan  # UAV123 style
    pred = gt.copy()
    pred[1] = [300, 300, 8, 8]
    pred[2] = [0, 0, 0, 0]  # NaN GT here: not repaired, so it stays zero-size
    pred[3] = [40, 40, 0, 0]  # repaired from frame 2's zero box -> IoU 0 with the GT
    s = P.pytracking(pred, gt, dataset="uav")
    assert s["success_curve"][0] == pytest.approx(1 / 4)  # only frame 0 overlaps
    gt_zero = gt.copy()
    gt_zero[2] = 0  # the same frame as a 0,0,0,0 row: frame 2 is repaired, frame 3 inherits frame 1's box
    s = P.pytracking(pred, gt_zero)
    assert s["success_curve"][0] == pytest.approx(1 / 4)
    pred[1] = gt[1]  # now frame 3 inherits a good box through frame 2
    assert P.pytracking(pred, gt_zero)["success_curve"][0] == pytest.approx(3 / 4)
    assert P.pytracking(pred, gt, dataset="uav")["success_curve"][0] == pytest.approx(2 / 4)


def test_pytracking_pads_short_results_except_on_lasot():
    with pytest.warns(UserWarning, match="seqC.*zero-padded"):
        s = P.pytracking(GT4[:2], GT4, name="seqC")
    assert s["auc"] == pytest.approx(FULL * 2 / 4) and s["precision"] == pytest.approx(2 / 4)
    with pytest.raises(ValueError, match="LaSOT|visibility"):
        P.pytracking(GT4, GT4, dataset="lasot")  # LaSOT needs its visibility flags


def test_pytracking_checks_predictions_beyond_the_gt():
    longer = np.vstack([GT4, arr([[np.nan, 0, 1, 1]])])
    with pytest.raises(ValueError, match="NaN"):
        P.pytracking(longer, GT4)  # pytracking checks the whole file before truncating
    assert P.strict(longer[:4], GT4)["auc"] == pytest.approx(FULL)


class _Seq:
    def __init__(self, dataset, gt, raw, visible, absent):
        self.dataset, self.ground_truth, self.file_ground_truth = dataset, gt, raw
        self.visible, self.absent = visible, absent


def test_protocol_inputs_per_dataset():
    raw = GT4.copy()
    raw[1] = 0  # absent frame written 0,0,0,0
    gt = raw.copy()
    gt[1] = np.nan
    absent = np.array([False, True, False, False])
    vis = ~absent
    for name, tag in (("uav123", "uav"), ("uav20l_nlp", "uav"), ("lasot", "lasot"), ("webuav3m", None)):
        g, v, t = P.protocol_inputs(_Seq(name, gt, raw, vis, absent), "pytracking")
        assert t == tag and g is raw
        assert (v is None) == (tag != "lasot")
    g, v, _ = P.protocol_inputs(_Seq("webuav3m", gt, raw, vis, absent), "strict")
    assert g is gt and v is vis
    g, v, _ = P.protocol_inputs(_Seq("uav123", gt, raw, vis, None), "otb")
    assert g is raw and v is None


@pytest.mark.parametrize("protocol", ["pytracking", "strict", "otb", "webuav"])
def test_many_sequences_at_once_equal_one_at_a_time(protocol):
    """score_sequences lays sequences end to end: nothing may leak across a boundary (carry-forward, row 0)."""
    rng = np.random.default_rng(7)
    preds, gts, visibles, tags = [], [], [], []
    for k, n in enumerate((5, 1, 9, 12, 3, 8)):
        gt = np.abs(rng.normal(40, 10, (n, 4))) + 1
        pred = gt + rng.normal(0, 4, (n, 4))
        pred[:, 2:] = np.abs(pred[:, 2:])
        pred[0] = [0, 0, 0, 0] if k % 2 else pred[0]  # a zero-size row at a sequence start ...
        if n > 2:
            pred[1, 2] = 0  # ... and right after it: the repair must not reach into the previous sequence
            gt[-1] = 0 if protocol != "pytracking" or k != 3 else np.nan  # an invalid (NaN only under 'uav') frame
        visible = rng.random(n) > 0.2
        visible[0] = True
        extra = 2 if protocol != "webuav" and k == 2 else 0  # a longer result where the protocol allows it
        preds.append(np.vstack([pred, np.ones((extra, 4))]))
        gts.append(gt)
        visibles.append(visible)
        tags.append("uav" if k == 3 else None)
    together = P.score_sequences(protocol, preds, gts, visibles, [f"s{i}" for i in range(6)], tags)
    for i in range(6):
        alone = P.evaluate_sequence(preds[i], gts[i], visibles[i], name=f"s{i}", protocol=protocol, dataset=tags[i])
        assert together[i].keys() == alone.keys()
        for key, value in alone.items():
            np.testing.assert_array_equal(together[i][key], value, err_msg=f"s{i} {key}")


def test_batch_errors_name_the_sequence():
    gt = np.tile(arr([[10, 10, 20, 20]]), (3, 1))
    bad = gt.copy()
    bad[2, 3] = -1
    with pytest.raises(ValueError, match="second"):
        P.score_sequences("strict", [gt, bad], [gt, gt], names=["first", "second"])
    with pytest.raises(ValueError, match="second"):
        P.score_sequences("webuav", [gt, gt[:2]], [gt, gt], names=["first", "second"])

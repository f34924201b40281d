"""Analysis layer: result loading, cached scoring, aggregation, tables, plots and tracking/analysis_results.py."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib.test.analysis import report
from lib.test.analysis.plots import plot_report
from lib.test.analysis.report import attribute_names, evaluate_trackers, score_tracker
from lib.test.analysis.results_loader import MissingResultsError, load_result, parse_result
from lib.test.analysis.tables import render
from lib.test.evaluation.data import make_sequence
from tracking.analysis_results import main

N = 10  # frames per sequence
W, H = 40.0, 30.0
SHIFT = 25.0  # px along x: IoU = 15*30 / (2*1200 - 450) = 0.2308, centre error 25 px, normalised 25/40
# Hand-computed scores of the shifted tracker (row 0 is replaced by the GT: 1 frame of N is perfect):
# success is 1 for t in {0, .05, .1, .15, .2} (5 points), 1/N for t = .25 .. .95 (15 points), 0 at t = 1.
SHIFTED_AUC = (5 * 1.0 + 15 * (1 / N)) / 21
SHIFTED_PRECISION = 1 / N  # 25 px > 20 px
PERFECT_AUC = 20 / 21  # IoU > 1 never holds


def gt_boxes(k: int) -> np.ndarray:
    i = np.arange(N, dtype=np.float64)[:, None]
    return np.hstack([10.0 + 3 * i + k, 20.0 + i, np.full((N, 1), W), np.full((N, 1), H)])


def shifted(boxes: np.ndarray) -> np.ndarray:
    return boxes + np.array([SHIFT, 0, 0, 0])


def boxes_text(boxes: np.ndarray, sep: str = ",") -> str:
    return "".join(sep.join(f"{v:.4f}" for v in row) + "\n" for row in boxes)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def make_vot(folder: Path, names=("a", "b", "c")) -> dict[str, np.ndarray]:
    """A VOT-layout stack (ground truth only, images are not needed to score)."""
    gts = {name: gt_boxes(k) for k, name in enumerate(names)}
    for name, gt in gts.items():
        write(folder / name / "groundtruth.txt", boxes_text(gt))
    return gts


def write_results(folder: Path, boxes_by_name: dict[str, np.ndarray], sep: str = ",") -> None:
    for name, boxes in boxes_by_name.items():
        write(folder / f"{name}.txt", boxes_text(boxes, sep))


def in_memory(attrs: dict[str, dict] | None = None, names=("a", "b", "c")) -> list:
    attrs = attrs or {}
    return [make_sequence(n, "toy", [f"{i}.jpg" for i in range(N)], gt_boxes(k), attributes=attrs.get(n))
            for k, n in enumerate(names)]


@pytest.fixture
def output_root(tmp_path, monkeypatch):
    root = tmp_path / "output"
    monkeypatch.setenv("TRACKING_OUTPUT_ROOT", str(root))
    return root


# -- loader --------------------------------------------------------------------------------------------------------

def test_loader_separators_give_identical_arrays(tmp_path):
    boxes = gt_boxes(0) + 0.125
    files = {sep: write(tmp_path / f"{k}.txt", boxes_text(boxes, sep) + "\n\n")
             for k, sep in enumerate([",", "\t", " ", ", "])}
    mixed = "".join(f"{r[0]}\t{r[1]},{r[2]} {r[3]}\n" for r in boxes)  # not clean: the tolerant parser's path
    files["mixed"] = write(tmp_path / "mixed.txt", mixed)
    arrays = [load_result(p, "s") for p in files.values()]
    for arr in arrays:
        np.testing.assert_array_equal(arr, boxes)
        assert arr.dtype == np.float64 and arr.shape == (N, 4)


@pytest.mark.parametrize("text,line", [("1,2,3,4\n5,6,7,8\n1,2,x,4\n", 3), ("1,2,3,4\n1 2 3\n", 2),
                                       ("1,2,3,4\n\n5,6,7,8\n", 2), ("1,2,3,4\n0\n", 2)])
def test_loader_malformed_row_names_file_and_line(tmp_path, text, line):
    path = write(tmp_path / "seq7.txt", text)
    with pytest.raises(ValueError, match=rf"seq7\.txt \(sequence seq7\), line {line}\b"):
        load_result(path, "seq7")


def test_loader_webuav_empty_predictions(tmp_path):
    path = write(tmp_path / "s.txt", "1,2,3,4\n\n0\n5\t6\t7\t8\n")
    rows = load_result(path, "s", empty_rows=True)
    assert rows.shape == (4, 4)
    assert np.isnan(rows[1:3]).all() and rows[3].tolist() == [5, 6, 7, 8]
    # a trailing blank line is an empty prediction only when the GT needs that frame
    assert parse_result("1,2,3,4\n\n", "f", empty_rows=True).shape == (1, 4)
    padded = parse_result("1,2,3,4\n\n", "f", empty_rows=True, frames=2)
    assert padded.shape == (2, 4) and np.isnan(padded[1]).all()
    assert parse_result("1,2,3,4\n\n", "f", empty_rows=True, frames=3).shape == (2, 4)  # then the length check fails


def test_missing_results_are_listed(tmp_path):
    seqs = in_memory()
    write_results(tmp_path / "t1", {"b": gt_boxes(1)})
    with pytest.raises(MissingResultsError, match=r"2 of 3 sequences have no result in .*t1: a, c$"):
        score_tracker(seqs, tmp_path / "t1", cache_dir=tmp_path / "cache")
    (tmp_path / "t2").mkdir()
    with pytest.raises(MissingResultsError, match=r"t1: a, c; 3 of 3 .*t2: a, b, c"):
        evaluate_trackers(seqs, {"x/1": tmp_path / "t1", "y/2": tmp_path / "t2"}, cache_dir=tmp_path / "cache")
    with pytest.raises(MissingResultsError, match=r"no result folder .*t3 \(3 sequences to score"):
        score_tracker(seqs, tmp_path / "t3", use_cache=False)


def test_wrong_length_names_the_file(tmp_path):
    seqs = in_memory(names=("a",))
    write_results(tmp_path / "t", {"a": gt_boxes(0)[:-2]})
    with pytest.raises(ValueError, match=r"a\.txt \(sequence a\): result has 8 frames but the ground truth has 10"):
        score_tracker(seqs, tmp_path / "t", protocol="strict", use_cache=False)
    with pytest.warns(UserWarning, match=r"a\.txt \(sequence a\): result has 8 frames .* zero-padded"):
        padded = score_tracker(seqs, tmp_path / "t", use_cache=False)  # pytracking pads outside LaSOT
    assert padded["a"]["precision"] == pytest.approx(8 / 10)


def test_protocols_read_the_file_ground_truth_by_dataset(tmp_path):
    """Through the report: pytracking's 'uav' rule on UAV123 names, its NaN error elsewhere, strict and otb."""
    gt = gt_boxes(0)
    gt[4] = np.nan  # an unannotated UAV123 frame
    pred = gt_boxes(0)
    pred[4] = [300, 300, 10, 10]
    write_results(tmp_path / "t", {"a": pred})
    uav = [make_sequence("a", "uav123", [f"{i}.jpg" for i in range(N)], gt)]
    s = score_tracker(uav, tmp_path / "t", use_cache=False)["a"]
    assert s["precision"] == 1.0 and s["norm_precision"] == 1.0  # hits, as pytracking counts them on UAV123
    assert s["success_curve"][0] == pytest.approx(9 / 10)
    s = score_tracker(uav, tmp_path / "t", protocol="strict", use_cache=False)["a"]
    assert s["precision"] == pytest.approx(9 / 10) and s["norm_precision"] == pytest.approx(9 / 10)
    s = score_tracker(uav, tmp_path / "t", protocol="otb", use_cache=False)["a"]
    assert s["precision"] == 1.0 and s["success_curve"][0] == pytest.approx(9 / 10)  # MATLAB: -1, a hit
    other = [make_sequence("a", "dtb70", [f"{i}.jpg" for i in range(N)], gt)]
    with pytest.raises(ValueError, match=r"a\.txt \(sequence a\): the ground truth has NaN"):
        score_tracker(other, tmp_path / "t", use_cache=False)


# -- scores, tables ------------------------------------------------------------------------------------------------

def perfect_and_shifted(tmp_path: Path, seqs) -> dict[str, Path]:
    folders = {"perfect/p": tmp_path / "perfect", "shifted/p": tmp_path / "shifted"}
    write_results(folders["perfect/p"], {s.name: s.ground_truth for s in seqs})
    write_results(folders["shifted/p"], {s.name: shifted(s.ground_truth) for s in seqs}, sep="\t")
    return folders


def test_json_values_match_hand_computed(tmp_path):
    seqs = in_memory()
    results = evaluate_trackers(seqs, perfect_and_shifted(tmp_path, seqs), cache_dir=tmp_path / "cache")
    data = json.loads(render(results, "pytracking", "json"))
    assert list(data) == ["perfect/p", "shifted/p"]
    assert data["perfect/p"]["sequences"] == 3
    assert data["perfect/p"]["auc"] == pytest.approx(PERFECT_AUC)
    assert data["perfect/p"]["precision"] == 1.0 and data["perfect/p"]["norm_precision"] == 1.0
    assert data["shifted/p"]["auc"] == pytest.approx(SHIFTED_AUC)
    assert data["shifted/p"]["precision"] == pytest.approx(SHIFTED_PRECISION)
    assert data["shifted/p"]["norm_precision"] == pytest.approx(SHIFTED_PRECISION)  # 25/40 > 0.2
    assert len(data["shifted/p"]["success_curve"]) == 21 and "cauc" not in data["shifted/p"]


def test_webuav_protocol_adds_cauc_and_macc(tmp_path):
    seqs = in_memory()
    results = evaluate_trackers(seqs, perfect_and_shifted(tmp_path, seqs), "webuav", cache_dir=tmp_path / "c")
    data = json.loads(render(results, "webuav", "json"))
    perfect = data["perfect/p"]
    assert perfect["cauc"] == pytest.approx(PERFECT_AUC) and perfect["macc"] == pytest.approx(1.0)
    iou = (W - SHIFT) * H / (2 * W * H - (W - SHIFT) * H)
    assert data["shifted/p"]["macc"] == pytest.approx(iou)  # mAcc does not replace row 0 by the GT
    assert "| perfect/p | 95.2 | 100.0 | 100.0 | 95.2 | 100.0 |" in report.render_table(results)  # protocol inferred


def test_md_csv_latex_tables(tmp_path):
    seqs = in_memory()
    results = evaluate_trackers(seqs, perfect_and_shifted(tmp_path, seqs), cache_dir=tmp_path / "cache")
    md = render(results, "pytracking", "md", title="toy")
    assert report.render_table(results, "md", title="toy") == md  # the shortcut quickstart uses
    assert "| Tracker | AUC (%) | Precision (%) | Norm. precision (%) |" in md
    assert "| perfect/p | 95.2 | 100.0 | 100.0 |" in md
    assert f"| shifted/p | {100 * SHIFTED_AUC:.1f} | 10.0 | 10.0 |" in md
    csv = pd.read_csv(io.StringIO(render(results, "pytracking", "csv")), index_col="tracker")
    assert csv.loc["shifted/p", "auc"] == pytest.approx(SHIFTED_AUC) and csv.loc["perfect/p", "sequences"] == 3
    tex = render(results, "pytracking", "latex", title="toy")
    assert "\\begin{tabular}{lrrr}" in tex and "perfect/p & 95.2 & 100.0 & 100.0 \\\\" in tex
    assert "AUC (\\%)" in tex


def test_attribute_scores_average_the_flagged_sequences(tmp_path):
    attrs = {"a": {"Fast_motion": 1, "Blur": 0, "size": 1, "score": 2},
             "b": {"Fast_motion": 1, "Blur": 1, "size": 0, "score": 0},
             "c": {"Fast_motion": 0, "Blur": 0, "size": 1, "score": 1}}
    seqs = in_memory(attrs)
    assert attribute_names(seqs) == ["Fast_motion", "Blur"]  # 'size' is a level key, 'score' is not 0/1
    folder = tmp_path / "mixed"
    write_results(folder, {"a": gt_boxes(0), "b": shifted(gt_boxes(1)), "c": shifted(gt_boxes(2))})
    results = evaluate_trackers(seqs, {"m/p": folder}, attributes=True, cache_dir=tmp_path / "cache")
    by_attr = results["m/p"]["attributes"]
    assert by_attr["Fast_motion"]["sequences"] == 2 and by_attr["Blur"]["sequences"] == 1
    assert by_attr["Fast_motion"]["auc"] == pytest.approx((PERFECT_AUC + SHIFTED_AUC) / 2)
    assert by_attr["Blur"]["auc"] == pytest.approx(SHIFTED_AUC)
    assert by_attr["Fast_motion"]["precision"] == pytest.approx((1 + SHIFTED_PRECISION) / 2)
    assert results["m/p"]["auc"] == pytest.approx((PERFECT_AUC + 2 * SHIFTED_AUC) / 3)
    md = render(results, "pytracking", "md")
    assert f"| Fast_motion (2) | {50 * (PERFECT_AUC + SHIFTED_AUC):.1f} |" in md and "| Blur (1) |" in md
    tidy = pd.read_csv(io.StringIO(render(results, "pytracking", "csv")))
    assert tidy["attribute"].tolist() == ["ALL", "Fast_motion", "Blur"]
    data = json.loads(render(results, "pytracking", "json"))["m/p"]["attributes"]
    assert data["Blur"]["sequences"] == 1 and data["Blur"]["precision"] == pytest.approx(SHIFTED_PRECISION)


# -- cache ---------------------------------------------------------------------------------------------------------

def test_cache_reused_and_invalidated(tmp_path, monkeypatch):
    calls = []
    real = report.score_sequences

    def counting(protocol, preds, gts, visibles, names, datasets):
        calls.extend(names)
        return real(protocol, preds, gts, visibles, names, datasets)

    monkeypatch.setattr(report, "score_sequences", counting)
    seqs, folder, cache = in_memory(), tmp_path / "t", tmp_path / "cache"
    write_results(folder, {s.name: s.ground_truth for s in seqs})
    first = score_tracker(seqs, folder, cache_dir=cache)
    assert len(calls) == 3 and len(list(cache.glob("*.npz"))) == 1
    again = score_tracker(seqs, folder, cache_dir=cache)
    assert len(calls) == 3 and again["b"]["auc"] == first["b"]["auc"] == pytest.approx(PERFECT_AUC)

    # same size, new content (x + 25 keeps the number of digits): only that sequence is rescored
    old_size = (folder / "b.txt").stat().st_size
    write_results(folder, {"b": shifted(seqs[1].ground_truth)})
    assert (folder / "b.txt").stat().st_size == old_size
    changed = score_tracker(seqs, folder, cache_dir=cache)
    assert len(calls) == 4 and "sequence b" in calls[-1]
    assert changed["b"]["auc"] == pytest.approx(SHIFTED_AUC) and changed["a"]["auc"] == pytest.approx(PERFECT_AUC)

    # another protocol, or different ground truth, is not served from the cache either
    score_tracker(seqs, folder, protocol="otb", cache_dir=cache)
    assert len(calls) == 7
    seqs[0].ground_truth = seqs[0].ground_truth + 1.0
    score_tracker(seqs, folder, cache_dir=cache)
    assert len(calls) == 8 and "sequence a" in calls[-1]
    score_tracker(seqs, folder, cache_dir=cache, use_cache=False)
    assert len(calls) == 11


class _RunsCode:
    """Unpickling this calls ``Path.touch(marker)``: what a crafted cache file could do with a shell command."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@pytest.mark.parametrize("content", [
    b"not a cache", b"", b"\xff\xfe", b'{"format": 2, "entries": {}}',
    _npz(format=np.array(3), names=np.array(["a", "b", "c"]), keys=np.zeros((3, 2), dtype=str)),  # wrong key shape
    _npz(format=np.array(3), names=np.array(["a"]), keys=np.zeros((1, 5), dtype=str),
         score_auc=np.zeros(2)),  # wrong column length
    _npz(format=np.array(3), names=np.array(["a"]), keys=np.zeros((1, 5), dtype=str),
         score_auc=np.array([{"x": 1}], dtype=object)),  # an object array would need a pickle
])
def test_corrupt_cache_is_ignored(tmp_path, content):
    seqs, folder, cache = in_memory(), tmp_path / "t", tmp_path / "cache"
    write_results(folder, {s.name: s.ground_truth for s in seqs})
    score_tracker(seqs, folder, cache_dir=cache)
    cache_file, = cache.glob("*.npz")
    cache_file.write_bytes(content)
    assert score_tracker(seqs, folder, cache_dir=cache)["a"]["precision"] == 1.0
    assert cache_file.read_bytes() != content  # rewritten


def test_crafted_cache_file_runs_no_code(tmp_path):
    import pickle
    seqs, folder, cache = in_memory(), tmp_path / "t", tmp_path / "cache"
    write_results(folder, {s.name: s.ground_truth for s in seqs})
    score_tracker(seqs, folder, cache_dir=cache)
    cache_file, = cache.glob("*.npz")
    marker = tmp_path / "code_ran"
    payload = pickle.dumps({"format": 1, "entries": _RunsCode(marker)})
    np_payload = _npz(format=np.array(3), names=np.array([_RunsCode(marker)], dtype=object))
    cache_file.write_bytes(payload)  # where the cache is read from ...
    cache_file.with_suffix(".pkl").write_bytes(payload)  # ... and where the pickle cache used to be
    assert score_tracker(seqs, folder, cache_dir=cache)["b"]["auc"] == pytest.approx(PERFECT_AUC)
    assert not marker.exists()
    cache_file.write_bytes(np_payload)  # an npz whose array holds a pickled object
    assert score_tracker(seqs, folder, cache_dir=cache)["b"]["auc"] == pytest.approx(PERFECT_AUC)
    assert not marker.exists()
    pickle.loads(payload)  # the payload is live: unpickling it does run the code
    assert marker.exists()


def test_cached_scores_equal_fresh_scores(tmp_path):
    seqs, folder, cache = in_memory(), tmp_path / "t", tmp_path / "cache"
    write_results(folder, {"a": seqs[0].ground_truth, "b": shifted(seqs[1].ground_truth),
                           "c": seqs[2].ground_truth + 0.37})
    fresh = score_tracker(seqs, folder, cache_dir=cache)
    cached = score_tracker(seqs, folder, cache_dir=cache)
    for name in fresh:
        for key, value in fresh[name].items():
            np.testing.assert_array_equal(cached[name][key], value)  # bit for bit through JSON


# -- plots ---------------------------------------------------------------------------------------------------------

def test_plots_are_png_files(tmp_path):
    seqs = in_memory({"a": {"Fast_motion": 1}, "b": {"Fast_motion": 0}, "c": {"Fast_motion": 1}})
    results = evaluate_trackers(seqs, perfect_and_shifted(tmp_path, seqs), attributes=True,
                                cache_dir=tmp_path / "cache")
    paths = plot_report(results, tmp_path / "plots", title="toy", attributes=True)
    names = sorted(str(p.relative_to(tmp_path / "plots")) for p in paths)
    assert names == ["attributes/Fast_motion_norm_precision.png", "attributes/Fast_motion_precision.png",
                     "attributes/Fast_motion_success.png", "norm_precision.png", "precision.png", "success.png"]
    for path in paths:
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


# -- command line --------------------------------------------------------------------------------------------------

@pytest.fixture
def vot_results(tmp_path, output_root):
    """A 3-sequence VOT stack and two trackers' results under the default results root."""
    gts = make_vot(tmp_path / "stack")
    results = output_root / "test" / "tracking_results"
    write_results(results / "perfect" / "p" / "vot_stack", gts)
    write_results(results / "shifted" / "p" / "vot_stack", {n: shifted(b) for n, b in gts.items()}, sep=" ")
    return tmp_path / "stack", results


def test_cli_json_and_plots(vot_results, output_root, capsys):
    stack, _ = vot_results
    out = main(["--dataset", f"vot:{stack}", "--trackers", "shifted/p", "perfect/p", "--format", "json", "--plot"])
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data == json.loads(out["table"]) and list(data) == ["shifted/p", "perfect/p"]
    assert data["shifted/p"]["auc"] == pytest.approx(SHIFTED_AUC) and data["perfect/p"]["sequences"] == 3
    plot_dir = output_root / "test" / "result_plots" / "vot_stack"
    assert sorted(p.name for p in out["plots"]) == ["norm_precision.png", "precision.png", "success.png"]
    assert all(p.parent == plot_dir and p.stat().st_size > 0 for p in out["plots"])
    assert f"3 plots written to {plot_dir}: success.png, precision.png, norm_precision.png" in captured.err
    assert list((output_root / "test" / "analysis_cache").glob("*.npz"))  # the cache lives under the output root


def test_cli_md_with_results_root_option(vot_results, tmp_path, capsys):
    stack, results = vot_results
    moved = tmp_path / "elsewhere"
    results.rename(moved)
    out = main(["--dataset", f"vot:{stack}", "--trackers", "perfect/p", "--results_root", str(moved),
                "--no_cache"])
    assert "| perfect/p | 95.2 | 100.0 | 100.0 |" in capsys.readouterr().out
    assert out["results"]["perfect/p"]["precision"] == 1.0


def test_cli_output_root_option(vot_results, tmp_path, capsys):
    stack, results = vot_results
    other = tmp_path / "other_output"
    (other / "test").mkdir(parents=True)
    results.rename(other / "test" / "tracking_results")
    out = main(["--dataset", f"vot:{stack}", "--trackers", "shifted/p", "--output_root", str(other),
                "--format", "csv"])
    assert out["results"]["shifted/p"]["auc"] == pytest.approx(SHIFTED_AUC)
    assert list((other / "test" / "analysis_cache").glob("*.npz"))
    assert capsys.readouterr().out.startswith("tracker,sequences,auc,precision,norm_precision\nshifted/p,3,")


@pytest.mark.parametrize("case,message", [
    ("unknown_dataset", "unknown dataset 'no_such_set'"),
    ("missing", "1 of 3 sequences have no result in"),
    ("malformed", "b.txt (sequence b), line 2: not numbers"),
    ("bad_spec", "expects <tracker>/<param>"),
])
def test_cli_user_errors_exit_2_with_one_line(vot_results, capsys, case, message):
    stack, results = vot_results
    dataset, trackers = f"vot:{stack}", ["perfect/p"]
    if case == "unknown_dataset":
        dataset = "no_such_set"
    elif case == "missing":
        (results / "perfect" / "p" / "vot_stack" / "c.txt").unlink()
    elif case == "malformed":
        write(results / "perfect" / "p" / "vot_stack" / "b.txt", "1,2,3,4\n1,2,oops,4\n")
    else:
        trackers = ["perfect"]
    with pytest.raises(SystemExit) as exit_info:
        main(["--dataset", dataset, "--trackers", *trackers])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: ") and err.count("\n") == 1


def test_cli_scores_only_the_named_sequences(vot_results, capsys):
    """--sequence scores a subset: a tracker without a result on another sequence is fine; a wrong name is an error."""
    stack, results = vot_results
    (results / "shifted" / "p" / "vot_stack" / "c.txt").unlink()
    out = main(["--dataset", f"vot:{stack}", "--trackers", "shifted/p", "perfect/p", "--sequence", "b", "a",
                "--format", "json"])
    assert out["results"]["shifted/p"]["sequences"] == 2 and out["results"]["perfect/p"]["precision"] == 1.0
    with pytest.raises(SystemExit) as exit_info:
        main(["--dataset", f"vot:{stack}", "--trackers", "perfect/p", "--sequence", "zz"])
    assert exit_info.value.code == 2 and "no sequence named zz" in capsys.readouterr().err

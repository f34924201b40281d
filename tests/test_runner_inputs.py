"""What the runner refuses before tracking: a first-frame box it cannot start from (named by file and line) and a
sequence name that would put a result file outside the results folder."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from lib.test.evaluation.data import make_sequence
from lib.test.evaluation.results import result_path, write_result
from lib.test.evaluation.running import run_dataset, track_sequence
from lib.test.tracker.baselines import StaticBoxTracker


def frames(folder, n=3):
    folder.mkdir(parents=True, exist_ok=True)
    paths = [str(folder / f"{i:04d}.jpg") for i in range(n)]
    for path in paths:
        cv2.imwrite(path, np.zeros((20, 30, 3), np.uint8))
    return paths


@pytest.mark.parametrize("first_row, absent, reason", [
    ([np.nan, 2.0, 5.0, 4.0], None, "finite x, y and w, h > 0"),
    ([1.5, 2.0, 0.0, 4.0], None, "finite x, y and w, h > 0"),
    ([1.5, 2.0, 5.0, 4.0], [True, False, False], "flagged absent"),
])
def test_an_unusable_first_box_names_the_sequence_file_line_and_values(tmp_path, first_row, absent, reason):
    boxes = np.array([first_row, [1.5, 2.0, 5.0, 4.0], [1.5, 2.0, 5.0, 4.0]])
    gt_file = tmp_path / "car7" / "groundtruth.txt"
    sequence = make_sequence("car7", "toy", frames(tmp_path / "car7"), boxes, absent=absent,
                             ground_truth_file=gt_file)
    with pytest.raises(ValueError) as error:
        track_sequence(StaticBoxTracker(), sequence)
    message = str(error.value)
    assert "toy/car7" in message and f"{gt_file}, line 1" in message and reason in message
    assert ",".join(f"{v:g}" for v in first_row) in message  # the row as the file gives it


def test_an_unusable_first_box_without_a_recorded_file_still_names_line_1(tmp_path):
    sequence = make_sequence("car7", "toy", frames(tmp_path / "car7", 2), [[1, 2, -3, 4], [1, 2, 3, 4]])
    with pytest.raises(ValueError, match=r"toy/car7.*1,2,-3,4.*line 1"):
        track_sequence(StaticBoxTracker(), sequence)


@pytest.mark.parametrize("name", ["../../outside", "..", "<absolute>", "sub/seq", "sub\\seq", "", "."])
def test_a_sequence_name_that_leaves_the_results_folder_is_refused(tmp_path, name):
    name = str(tmp_path / "elsewhere") if name == "<absolute>" else name
    folder = tmp_path / "results" / "tracker" / "param" / "dataset"
    with pytest.raises(ValueError, match="results folder .*: sequence name .* must be a plain name"):
        result_path(folder, name)
    with pytest.raises(ValueError, match="sequence name"):
        write_result(folder, name, np.ones((2, 4)), np.ones(2))
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # nothing written anywhere


def test_the_runner_refuses_such_a_name_before_tracking_anything(tmp_path):
    good = make_sequence("good", "toy", frames(tmp_path / "good"), np.tile([1.5, 2.0, 5.0, 4.0], (3, 1)))
    bad = make_sequence("../../outside", "toy", frames(tmp_path / "bad"), np.tile([1.5, 2.0, 5.0, 4.0], (3, 1)))
    folder = tmp_path / "results" / "a" / "b"
    with pytest.raises(ValueError, match=r"'\.\./\.\./outside'"):
        run_dataset([good, bad], StaticBoxTracker, folder, progress=False)
    assert not (tmp_path / "outside.txt").exists() and not (folder / "good.txt").exists()
    assert result_path(folder, "..seq v2") == folder / "..seq v2.txt"  # dots and spaces inside a name are fine

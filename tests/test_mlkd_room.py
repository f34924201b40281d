"""MLKD's mutual-learning room (lib/train/actors/mlkd.py): the peak-to-second-peak ratio on constructed maps, the
election by each criterion, ties, the same election on two gloo ranks that see different batches, and the peer
loss (detached target)."""
from __future__ import annotations

import sys

import pytest
import torch
import torch.multiprocessing as mp
from conftest import free_port

from lib.train.actors.mlkd import elect, elect_scores, peak_to_second_peak, peer_loss


def map_with_peaks(peaks: dict[tuple[int, int], float], side: int = 8) -> torch.Tensor:
    score = torch.full((1, 1, side, side), 0.01)
    for (r, c), value in peaks.items():
        score[0, 0, r, c] = value
    return score


def test_peak_ratio_skips_the_top_peaks_own_neighbourhood():
    # the top peak at (2, 2) with a shoulder at (2, 3) (not a peak of its own), a real second peak at (6, 6)
    score = map_with_peaks({(2, 2): 0.9, (2, 3): 0.8, (6, 6): 0.3})
    assert peak_to_second_peak(score).item() == pytest.approx(0.9 / 0.3, rel=1e-4)
    # a flat top (two equal neighbouring cells, both local maxima) is one peak, not its own second peak
    score = map_with_peaks({(2, 2): 0.9, (3, 3): 0.9, (6, 1): 0.45})
    assert peak_to_second_peak(score).item() == pytest.approx(0.9 / 0.45, rel=1e-4)


def test_the_election_picks_the_expected_student():
    sharp = {"score_map": map_with_peaks({(4, 4): 0.95, (0, 7): 0.05})}
    blurred = {"score_map": map_with_peaks({(4, 4): 0.6, (0, 7): 0.5})}
    two_peaks = {"score_map": map_with_peaks({(4, 4): 0.7, (1, 1): 0.7})}
    outs = [blurred, sharp, two_peaks]
    assert elect(elect_scores("psr", outs)) == 1
    ious = [torch.tensor([0.2, 0.4]), torch.tensor([0.5, 0.1]), torch.tensor([0.6, 0.7])]
    assert elect(elect_scores("iou", outs, ious=ious)) == 2
    losses = [torch.tensor([1.0]), torch.tensor([0.4]), torch.tensor([0.9])]
    assert elect(elect_scores("loss", outs, gt_losses=losses)) == 1
    assert elect(torch.tensor([0.5, 0.7, 0.7])) == 1  # ties: the lowest index
    with pytest.raises(ValueError, match="'vote'.*psr, iou, loss"):
        elect_scores("vote", outs)


def test_the_peer_loss_trains_the_student_towards_the_detached_elected_one():
    g = torch.Generator().manual_seed(0)

    def out(requires_grad: bool) -> dict:
        logits = torch.randn(2, 1, 4, 4, generator=g).requires_grad_(requires_grad)
        return {"score_logits": logits, "score_map": torch.sigmoid(logits),
                "size_map": torch.rand(2, 2, 4, 4, generator=g), "offset_map": torch.rand(2, 2, 4, 4, generator=g)}

    student, elected = out(True), out(True)
    loss = peer_loss(student, elected, tau=4.0)
    assert loss.shape == (2,) and bool((loss > 0).all())
    loss.sum().backward()
    assert student["score_logits"].grad is not None and elected["score_logits"].grad is None
    assert peer_loss(elected, elected, tau=4.0).abs().max() < 1e-6


def _elect_rank(rank: int, port: int, out: str) -> None:
    from conftest import join_gloo
    from lib.train.admin.distributed import cleanup
    join_gloo(rank, port)
    try:
        # each rank alone would elect another student (0 on rank 0, 1 on rank 1); together student 1 wins
        local = torch.tensor([[0.6, 0.5, 0.1], [0.2, 0.9, 0.3]])[rank]
        torch.save(torch.tensor([elect(local), int(torch.argmax(local))]), f"{out}.rank{rank}")
    finally:
        cleanup()


@pytest.mark.skipif(sys.platform == "win32", reason="gloo rendezvous on localhost")
def test_two_ranks_elect_the_same_student(tmp_path):
    out = str(tmp_path / "elect")
    mp.spawn(_elect_rank, args=(free_port(), out), nprocs=2, join=True)
    results = [torch.load(f"{out}.rank{rank}", weights_only=True).tolist() for rank in range(2)]
    assert [r[1] for r in results] == [0, 1]  # what each rank would have chosen alone
    assert [r[0] for r in results] == [1, 1]  # the shared election

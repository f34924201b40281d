"""Evaluation metrics and scoring protocols (pytracking, otb, webuav); see ``protocols`` for the conventions."""
from lib.test.analysis.metrics import (auc, center_error, complete_iou, iou, normalized_center_error,
                                       precision_curve, success_curve)
from lib.test.analysis.protocols import PROTOCOLS, aggregate, evaluate_sequence, otb, pytracking, webuav

__all__ = ["auc", "center_error", "complete_iou", "iou", "normalized_center_error", "precision_curve",
           "success_curve", "PROTOCOLS", "aggregate", "evaluate_sequence", "otb", "pytracking", "webuav"]

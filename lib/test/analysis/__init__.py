"""Evaluation metrics and scoring protocols (pytracking, strict, otb, webuav); see ``protocols`` for the rules."""
from lib.test.analysis.metrics import (auc, center_error, complete_iou, inclusive_iou, iou, normalized_center_error,
                                       precision_curve, success_curve)
from lib.test.analysis.protocols import (PROTOCOLS, aggregate, evaluate_sequence, otb, protocol_inputs, pytracking,
                                         strict, webuav)

__all__ = ["auc", "center_error", "complete_iou", "inclusive_iou", "iou", "normalized_center_error",
           "precision_curve", "success_curve", "PROTOCOLS", "aggregate", "evaluate_sequence", "otb",
           "protocol_inputs", "pytracking", "strict", "webuav"]

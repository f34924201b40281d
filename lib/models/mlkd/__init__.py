"""MLKD (mutual-learning knowledge distillation for night tracking): the frozen teacher; students and the
mutual-learning room come next."""
from lib.models.mlkd.teacher import Teacher, build_teacher

__all__ = ["Teacher", "build_teacher"]

"""MLKD (mutual-learning knowledge distillation for night tracking): the frozen teacher and the student pool; the
mutual-learning room is the actor's (lib/train/actors/mlkd.py)."""
from lib.models.mlkd.students import StudentPool, build_student_pool, student_config
from lib.models.mlkd.teacher import Teacher, build_teacher

__all__ = ["StudentPool", "Teacher", "build_student_pool", "build_teacher", "student_config"]

"""MLKD (mutual-learning knowledge distillation for night tracking): the frozen teacher and the student pool; the
mutual-learning room comes next."""
from lib.models.mlkd.students import StudentPool, build_student_pool, student_config
from lib.models.mlkd.teacher import Teacher, build_teacher

__all__ = ["StudentPool", "Teacher", "build_student_pool", "build_teacher", "student_config"]

"""Test-time benchmark readers: ``get_dataset(name) -> list[Sequence]``."""
from lib.test.evaluation.data import Sequence
from lib.test.evaluation.datasets import dataset_names, get_dataset

__all__ = ["Sequence", "get_dataset", "dataset_names"]

"""Reading a pickle that may hold only plain data (lists, dicts, tuples, strings, numbers, booleans, None) without
running code from it.

Unpickling can call any function a file names (``os.system`` included): every class or function reaches the
unpickler through ``find_class``, and plain containers and scalars never do. So ``find_class`` here refuses
everything, and a file that names a class is an error naming the file and the class, before anything runs.
"""
from __future__ import annotations

import io
import pickle


class PlainPickleError(ValueError):
    """A pickle that is unreadable or holds more than plain data; the message names the file."""


class _PlainUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, where: str):
        # Python 2 pickles (the refer toolkit's refs files) store str as bytes: decode them as text
        super().__init__(io.BytesIO(data), encoding="utf-8")
        self.where = where

    def find_class(self, module: str, name: str):
        raise PlainPickleError(f"{self.where}: refused to load {module}.{name} from this pickle: it may hold only "
                               f"lists, dicts, strings and numbers (loading a class or function could run code)")

    def persistent_load(self, pid):
        raise PlainPickleError(f"{self.where}: refused a persistent id ({pid!r}) in this pickle: it may hold only "
                               f"lists, dicts, strings and numbers")


def load_plain_pickle(data: bytes, where: str):
    """The plain data pickled in ``data`` (``where`` names its file in errors); a ``PlainPickleError`` if the pickle
    names any class or function, or is not a readable pickle."""
    try:
        return _PlainUnpickler(data, where).load()
    except PlainPickleError:
        raise
    # what a corrupt or truncated pickle raises, depending on where the bytes go wrong
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, IndexError, TypeError, OverflowError) as err:
        raise PlainPickleError(f"{where}: not a readable pickle ({type(err).__name__}: {err})") from None

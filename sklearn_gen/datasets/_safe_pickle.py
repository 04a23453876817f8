"""Read the CIFAR pickles without ever executing code from them.

A pickle can name any importable callable and call it while it loads, so ``pickle.load`` on a
file from the internet runs whatever the file says. The CIFAR batches are plain data written by
Python 2's ``cPickle`` (protocol 2): a dict of strings, lists of ints and strings, and a
``uint8`` numpy array. :class:`RestrictedUnpickler` resolves only the three globals such an array
needs (numpy's ``_reconstruct``, ``ndarray`` and ``dtype``, the last limited to the integer
dtypes these files hold) plus ``_codecs.encode`` (how Python 3's protocol 2 writes bytes), and
refuses every other global before anything is called.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["RestrictedUnpickler", "UnsafePickleError", "load_data_pickle"]

#: Element types a CIFAR array may have (its pixels and, in some re-saved copies, its labels).
_ALLOWED_DTYPES = frozenset({"u1", "|u1", "uint8", "i8", "<i8", "int64", "i4", "<i4", "int32"})


class UnsafePickleError(ValueError):
    """A pickle asked for something a data file never needs: refused, nothing was run."""


def _reconstruct(subtype: Any, shape: Any, dtype_code: Any) -> np.ndarray:
    """``numpy.core.multiarray._reconstruct`` for plain ``ndarray`` only."""
    if subtype is not np.ndarray:
        raise UnsafePickleError(f"an array of type {subtype!r}, not numpy.ndarray")
    return np.ndarray.__new__(np.ndarray, shape, np.dtype(np.uint8))


def _dtype(code: Any, align: Any = False, copy: Any = True) -> np.dtype:
    """``numpy.dtype`` for the integer types of the CIFAR files only (never ``object``)."""
    if not isinstance(code, str) or code not in _ALLOWED_DTYPES:
        raise UnsafePickleError(f"an array of dtype {code!r} (only unsigned bytes and integers)")
    return np.dtype(code)


def _encode(text: Any, encoding: Any = "latin1") -> bytes:
    """``_codecs.encode`` as Python 3's protocol 2 uses it for ``bytes`` values."""
    if not isinstance(text, str) or encoding != "latin1":
        raise UnsafePickleError(f"_codecs.encode({type(text).__name__}, {encoding!r})")
    return text.encode("latin1")


_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _encode,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds dicts, lists, strings, ints and integer numpy arrays only.

    Every global a pickle names goes through :meth:`find_class`, which knows the handful a
    numpy array needs and raises :class:`UnsafePickleError` for any other, so a file that
    would call ``os.system`` (or anything else) is refused before the call.

    Examples
    --------
    >>> import io, pickle
    >>> import numpy as np
    >>> data = pickle.dumps({"labels": [3, 1], "data": np.zeros((2, 4), np.uint8)}, protocol=2)
    >>> RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()["labels"]
    [3, 1]
    >>> evil = b"cos\\nsystem\\n(S'echo hi'\\ntR."
    >>> RestrictedUnpickler(io.BytesIO(evil)).load()
    Traceback (most recent call last):
    ...
    sklearn_gen.datasets._safe_pickle.UnsafePickleError: the pickle names os.system, ...
    """

    def find_class(self, module: str, name: str) -> Any:
        """Return the allowed global ``module.name``; refuse any other."""
        allowed = _GLOBALS.get((module, name))
        if allowed is None:
            raise UnsafePickleError(
                f"the pickle names {module}.{name}, which a data file never needs; refused "
                "without running it"
            )
        return allowed

    def persistent_load(self, pid: Any) -> Any:
        """Refuse persistent ids (a data file never has them)."""
        raise UnsafePickleError("the pickle holds persistent ids, which a data file never has")


def load_data_pickle(path: str | os.PathLike[str]) -> Any:
    """Load one CIFAR-style pickle through :class:`RestrictedUnpickler`.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    object
        What the file holds (for CIFAR, a dict with ``str`` keys).

    Raises
    ------
    ValueError
        Naming the file: a refused global (:class:`UnsafePickleError`), a truncated or
        corrupt pickle, or anything that is not a pickle at all.

    Examples
    --------
    >>> import pickle, tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder, "batches.meta")
    ...     _ = path.write_bytes(pickle.dumps({"label_names": ["cat", "dog"]}, protocol=2))
    ...     load_data_pickle(path)
    {'label_names': ['cat', 'dog']}
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return RestrictedUnpickler(fh, encoding="latin1").load()
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"refusing to load {str(path)!r}: {exc}.") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"{str(path)!r} is not a readable CIFAR pickle (truncated or corrupt): "
            f"{type(exc).__name__}: {exc}"
        ) from None
    except (KeyError, IndexError, OverflowError, MemoryError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"{str(path)!r} is not a readable CIFAR pickle (corrupt opcodes): "
            f"{type(exc).__name__}: {exc}"
        ) from None

"""One progress bar for every long step of a kernel fit (tqdm on stderr).

``progress="auto"`` shows a bar only once a step has run for :data:`DELAY_S` seconds, so
small fits (tests, grid searches) stay silent and a fit of minutes says how far it is.
"""

from __future__ import annotations

from tqdm.auto import tqdm

DELAY_S = 3.0
"""Seconds a step runs before ``progress="auto"`` shows its bar."""

PROGRESS_VALUES = ("auto", True, False)


def progress_bar(progress: str | bool, total: float, desc: str, unit: str = "GFLOP") -> tqdm:
    """A tqdm bar over ``total`` units of work, shown as ``progress`` asks.

    Parameters
    ----------
    progress : {"auto", True, False}
        ``"auto"``: shown once the step has run for :data:`DELAY_S` seconds; True: always;
        False: never.
    total : float
        Work of the whole step (``update`` adds to it).
    desc : str
        What the step does.
    unit : str, default="GFLOP"
        Unit of ``total``.

    Examples
    --------
    >>> from sklearn_gen.kernels._progress import progress_bar
    >>> bar = progress_bar(False, 10.0, "demo")
    >>> bar.disable
    True
    >>> bar.close()
    """
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        disable=progress is False,
        delay=0.0 if progress is True else DELAY_S,
        leave=False,
        dynamic_ncols=True,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}",
    )

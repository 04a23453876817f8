"""Figure of the measure-ranking study: every measure under every criterion, with intervals.

References
----------
.. [1] Y. Jiang, B. Neyshabur, H. Mobahi, D. Krishnan and S. Bengio, "Fantastic
   generalization measures and where to find them", ICLR 2020.
.. [2] G. K. Dziugaite et al., "In search of robust measures of generalization",
   NeurIPS 2020.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sklearn_gen.studies.plotting._kernel_normalized import _check_frame

__all__ = ["plot_measure_ranking"]

#: (column, axis label, limits) of each panel.
_PANELS = (
    ("kendall_tau", r"Kendall $\tau$ with the gap", (-1.05, 1.05)),
    ("psi", r"granulated $\Psi$", (-1.05, 1.05)),
    ("signed_cmi", r"conditional mutual information $\times$ sign($\tau$)", (-1.02, 1.02)),
    ("robust_sign_error", "robust sign-error (worst environment)", (-0.02, 1.02)),
)


def plot_measure_ranking(table: pd.DataFrame) -> Figure:
    """Measures (rows, best first) x criteria (panels), each a point with its interval.

    The conditional mutual information is shown signed by Kendall's tau (it is blind to
    the direction: a measure informative the wrong way lies left of 0).

    Parameters
    ----------
    table : pandas.DataFrame
        The result of :func:`~sklearn_gen.studies.rank_measures`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> row = {"measure": "a", "kendall_tau": 0.5, "psi": 0.4, "signed_cmi": 0.2,
    ...        "robust_sign_error": 0.3}
    >>> row.update({f"{c}_{e}": row[c] for c in list(row)[1:] for e in ("low", "high")})
    >>> fig = plot_measure_ranking(pd.DataFrame([row]))
    >>> len(fig.axes), fig.axes[0].get_yticklabels()[0].get_text()
    (4, 'a')
    """
    columns = ["measure"] + [c for c, _, _ in _PANELS]
    columns += [f"{c}_{end}" for c, _, _ in _PANELS for end in ("low", "high")]
    table = _check_frame(table, columns, "plot_measure_ranking")
    names = [str(m) for m in table["measure"]]
    positions = np.arange(len(names))
    fig = Figure(figsize=(13, 1.5 + 0.32 * len(names)), layout="constrained")
    axes = fig.subplots(1, len(_PANELS), sharey=True)
    for ax, (column, label, limits) in zip(axes, _PANELS, strict=True):
        value = table[column].to_numpy(dtype=float)
        low = table[f"{column}_low"].to_numpy(dtype=float)
        high = table[f"{column}_high"].to_numpy(dtype=float)
        spread = np.vstack([np.clip(value - low, 0, None), np.clip(high - value, 0, None)])
        spread = np.nan_to_num(spread)
        ax.errorbar(value, positions, xerr=spread, fmt="o", capsize=3, markersize=4)
        reference = 0.5 if column == "robust_sign_error" else 0.0
        ax.axvline(reference, color="black", linewidth=0.8)
        ax.set_xlim(*limits)
        ax.set_xlabel(label)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(positions, names)
    axes[0].invert_yaxis()
    fig.suptitle("Which measure predicts the generalization gap (95% bootstrap intervals)")
    return fig

"""Every public measure on the model families researchers train: a value, or why it is undefined.

The families are the test suite's re-implementations of the torchvision / paper models
(``tests/model_zoo.py``: ResNet-18, VGG-11-BN, pre-activation ResNet-18, MobileNetV2-style
inverted residuals, Jiang et al.'s NiN, WideResNet-16-4, a DenseNet-style block, a plain
MLP), at small widths, with random weights, batch norms given random running statistics
(as after training), on 32 random inputs labelled by the model's own predictions (so every
margin is positive and the bounds are defined where the graph allows). The initial weights
are a second random draw of the same architecture (``initial=``).

Run ``python benchmarks/zoo_measures.py [--rst] [family ...]`` to print the table of the
documentation page "Measures on your own model" (markdown, or with ``--rst`` the page's
list-table; each cell: the value, or ``undefined`` and the assumption the measure names)
and the time each family took.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sklearn_gen import measures
from sklearn_gen.measures import UndefinedMeasureError

ZOO_FILE = Path(__file__).resolve().parents[1] / "tests" / "model_zoo.py"


def load_zoo() -> Any:
    """The ``tests/model_zoo.py`` module (loaded by path: the tests are not a package)."""
    spec = importlib.util.spec_from_file_location("model_zoo", ZOO_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("model_zoo", module)
    spec.loader.exec_module(module)
    return module


#: Every public network measure of a model, called with its defaults (the searches and
#: iterations shortened: the table shows where a measure applies, not converged values).
MEASURES: dict[str, Callable[..., Any]] = {
    "margins": measures.margins,
    "margin_quantile": measures.margin_quantile,
    "count_parameters": measures.count_parameters,
    "layer_norms": measures.layer_norms,
    "spectral_norm": measures.spectral_norm,
    "product_norm": measures.product_norm,
    "distance_from_init": measures.distance_from_init,
    "path_norm": measures.path_norm,
    "normalized_loss": measures.normalized_loss,
    "normalized_error": measures.normalized_error,
    "spectral_bound": measures.spectral_bound,
    "pac_bayes_bound": measures.pac_bayes_bound,
    "pac_bayes_flatness": measures.pac_bayes_flatness,
    "jiang_pac_bayes_flatness": measures.jiang_pac_bayes_flatness,
    "worst_case_sharpness": measures.worst_case_sharpness,
    "epsilon_sharpness": measures.epsilon_sharpness,
    "hessian_top_eigenvalue": measures.hessian_top_eigenvalue,
    "hessian_trace": measures.hessian_trace,
    "gradient_noise": measures.gradient_noise,
    "layer_alphas": measures.layer_alphas,
    "mean_alpha": measures.mean_alpha,
}
#: Measures of the training run rather than of the model (they read a skorch net's
#: ``history``): not defined on a bare module, so not in the table.
HISTORY_MEASURES = ("steps_to_loss", "steps_between_losses")
_NEEDS_INITIAL = {"distance_from_init", "spectral_bound", "pac_bayes_bound"}
_EXTRA = {
    "pac_bayes_flatness": {"n_iter": 6, "random_state": 0},
    "jiang_pac_bayes_flatness": {"n_iter": 6, "random_state": 0},
    "worst_case_sharpness": {"n_steps": 5, "random_state": 0},
    "epsilon_sharpness": {"n_steps": 5, "random_state": 0},
    "hessian_top_eigenvalue": {"n_iter": 20, "random_state": 0},
    "hessian_trace": {"n_probes": 10, "random_state": 0},
    "gradient_noise": {"batch_size": 8, "random_state": 0},
}


def family_sample(zoo: Any, family: str, n: int = 32, seed: int = 0):
    """``(model, initial model, X, y, input_shape)`` of one family."""
    torch.manual_seed(seed)
    model = zoo.trained_like(zoo.ZOO[family](), seed)
    torch.manual_seed(seed + 1)
    initial = zoo.ZOO[family]().eval()
    shape = zoo.INPUT_SHAPE[family]
    X = np.random.default_rng(seed).normal(size=(n, int(np.prod(shape)))).astype(np.float32)
    with torch.no_grad():
        y = model(torch.as_tensor(X).reshape(n, *shape)).argmax(1).numpy()
    return model, initial, X, y, shape


def call(name: str, model: nn.Module, initial: nn.Module, X, y, shape) -> Any:
    """One measure's value on one model (raises what the measure raises)."""
    kwargs: dict[str, Any] = {"input_shape": shape, **_EXTRA.get(name, {})}
    if name in _NEEDS_INITIAL:
        kwargs["initial"] = initial
    return MEASURES[name](model, X, y, **kwargs)


def _cell(value: Any) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    array = np.atleast_1d(np.asarray(value, dtype=float))
    if array.size == 0:
        return "no layer large enough"
    if array.size > 1:
        return f"{array.size} values, {array.min():.3g} to {array.max():.3g}"
    return f"{float(array[0]):.4g}"


def _reason(exc: UndefinedMeasureError) -> str:
    text = str(exc)
    for key, short in (
        ("chain networks only", "not a chain (the theorem's assumption)"),
        ("crosses the same", "paths cross different layers: no rescaling"),
        ("path_norm is defined", "op outside linear/ReLU/pooling/sum/cat: "),
        ("margin quantile", "margin quantile <= 0"),
        ("a normalization undoes", "normalization: "),
        ("positively homogeneous", "not homogeneous: "),
        ("Lipschitz and mapping", "a normalization or an op not Lipschitz with f(0) = 0: "),
    ):
        if key in text:
            if key == "path_norm is defined":
                return short + text.split(" has ")[-1].split(",")[0]
            if short.endswith(": "):
                return short + text.split(" has ")[-1].split(", which")[0]
            return short
    return text[:60]


def table(families: list[str] | None = None) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The rows of the table: family -> measure -> cell text."""
    zoo = load_zoo()
    families = families or list(zoo.ZOO)
    rows: dict[str, dict[str, str]] = {}
    for family in families:
        model, initial, X, y, shape = family_sample(zoo, family)
        start = time.perf_counter()
        view = measures.layers_view(model, shape)
        diagonal = sum(layer.kind == "diagonal" for layer in view.layers)
        row = {
            "graph": view.graph,
            "layers (BN folded / diagonal)": (
                f"{len(view.layers)} ({len(view.folded)} / {diagonal})"
            ),
        }
        for name in MEASURES:
            try:
                row[name] = _cell(call(name, model, initial, X, y, shape))
            except UndefinedMeasureError as exc:
                row[name] = f"undefined: {_reason(exc)}"
        row["seconds"] = f"{time.perf_counter() - start:.1f}"
        rows[family] = row
    return families, rows


def main() -> None:
    torch.set_num_threads(1)
    rst = "--rst" in sys.argv[1:]
    families, rows = table([a for a in sys.argv[1:] if a != "--rst"] or None)
    names = ["graph", "layers (BN folded / diagonal)", *MEASURES, "seconds"]
    if rst:  # the documentation's list-table
        print(".. list-table::\n   :header-rows: 1\n")
        print("   * - measure\n" + "".join(f"     - {f}\n" for f in families), end="")
        for name in names:
            label = f"``{name}``" if name in MEASURES else name
            cells = "".join(f"     - {rows[f][name]}\n" for f in families)
            print(f"   * - {label}\n{cells}", end="")
        return
    print("| measure | " + " | ".join(families) + " |")
    print("|---|" + "---|" * len(families))
    for name in names:
        label = f"`{name}`" if name in MEASURES else name
        print(f"| {label} | " + " | ".join(rows[f][name] for f in families) + " |")


if __name__ == "__main__":
    main()

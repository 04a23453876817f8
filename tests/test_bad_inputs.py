"""Bad inputs across the public API: each fails early with a clear, typed error.

What scikit-learn's estimator checks already cover for every estimator (NaN/inf, wrong
dimensions or dtype, empty input, unfitted use, the feature count) and the refusal of a
bad value of each parameter are in ``test_sklearn_checks.py``; here the rest.

Every case must raise ``ValueError`` / ``TypeError`` / ``FileNotFoundError`` (sklearn's
``NotFittedError`` subclasses ``ValueError``) with a message that names the parameter or the
problem, never a torch error from deep inside, never a silent result. String labels must
*work* for the classifiers. Also: a fitted NetworkClassifier survives pickling, including
a pickle that says its weights were on ``cuda``.
"""

from __future__ import annotations

import gzip
import pickle
import struct
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from sklearn_gen import (
    CenterCrop,
    FiniteSampleReLU,
    FiniteSampleReLURegressor,
    GaussianPixels,
    KernelInterpolationRegressor,
    KernelInterpolator,
    LabelNoise,
    NetworkClassifier,
    PerImageWhitening,
    PixelShuffle,
    RandomPixels,
    RandomPretraining,
    load_mnist,
)
from sklearn_gen import measures as M
from sklearn_gen.cli import main
from sklearn_gen.datasets import load_dataset, make_hyperspheres
from sklearn_gen.metrics import get_scorer, make_measure_scorer

BAD_INPUT = (ValueError, TypeError)
N_FEATURES = 4


def small_net(**params: Any) -> NetworkClassifier:
    defaults: dict[str, Any] = dict(module__hidden=(8,), max_epochs=1, random_state=0)
    defaults.update(params)
    return NetworkClassifier("mlp", **defaults)


def xy(n: int = 24, n_classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)
    X = rng.rand(n, N_FEATURES).astype(np.float32)
    y = np.arange(n) % n_classes
    return X, y


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.simplefilter("ignore", ConvergenceWarning)


@pytest.fixture(scope="module")
def fitted_net() -> NetworkClassifier:
    X, y = xy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return small_net().fit(X, y)


@pytest.fixture(scope="module")
def fitted_kernel() -> KernelInterpolator:
    X, y = xy()
    return KernelInterpolator(device="cpu", dtype="float64").fit(X.astype(np.float64), y)


# ------------------------------------------------------------------------------ estimators
CLASSIFIERS: dict[str, Callable[[], Any]] = {
    "KernelInterpolator": lambda: KernelInterpolator(device="cpu"),
    "NetworkClassifier": small_net,
    "FiniteSampleReLU": lambda: FiniteSampleReLU(random_state=0),
    "LabelNoise": lambda: LabelNoise(small_net(), p=0.5, random_state=0),
    "RandomPretraining": lambda: RandomPretraining(
        small_net(), p=0.5, pretrain_epochs=1, random_state=0
    ),
}
REGRESSORS: dict[str, Callable[[], Any]] = {
    "KernelInterpolationRegressor": lambda: KernelInterpolationRegressor(device="cpu"),
    "FiniteSampleReLURegressor": lambda: FiniteSampleReLURegressor(random_state=0),
}
ESTIMATORS = {**CLASSIFIERS, **REGRESSORS}


def _with_bad_value(X: np.ndarray, value: float) -> np.ndarray:
    X = X.copy()
    X[1, 2] = value
    return X


@pytest.mark.parametrize("name", ESTIMATORS)
def test_fit_rejects_mismatched_lengths(name: str) -> None:
    X, y = xy()
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples|length"):
        ESTIMATORS[name]().fit(X, y[:-3])


TRAINED_CLASSIFIERS = [name for name in CLASSIFIERS if name != "FiniteSampleReLU"]


@pytest.mark.parametrize("name", TRAINED_CLASSIFIERS)
def test_one_class_is_rejected(name: str) -> None:
    X, _ = xy()
    with pytest.raises(ValueError, match="class"):
        CLASSIFIERS[name]().fit(X, np.zeros(len(X), dtype=int))


@pytest.mark.parametrize("name", TRAINED_CLASSIFIERS)
def test_one_sample_is_rejected(name: str) -> None:
    X, _ = xy()
    with pytest.raises(ValueError, match="class"):
        CLASSIFIERS[name]().fit(X[:1], np.array([0]))


@pytest.mark.parametrize("n_samples", [1, 5])
def test_finite_sample_relu_interpolates_one_class(n_samples: int) -> None:
    # an exact interpolating construction: one class is a valid (constant) fit
    X, _ = xy()
    clf = FiniteSampleReLU(random_state=0).fit(X[:n_samples], np.full(n_samples, "only"))
    assert list(clf.classes_) == ["only"]
    assert set(clf.predict(X)) == {"only"}


@pytest.mark.parametrize("name", REGRESSORS)
def test_regressor_on_one_sample_fits_it(name: str) -> None:
    X, _ = xy()
    est = REGRESSORS[name]().fit(X[:1].astype(np.float64), np.array([2.5]))
    np.testing.assert_allclose(est.predict(X[:1].astype(np.float64)), [2.5], rtol=1e-3)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_string_labels_work(name: str) -> None:
    X, y = xy()
    labels = np.array(["cat", "dog", "emu"])[y]
    est = CLASSIFIERS[name]().fit(X, labels)
    assert set(est.classes_) == {"cat", "dog", "emu"}
    pred = est.predict(X)
    assert set(pred) <= {"cat", "dog", "emu"}
    assert pred.dtype.kind in "UO"


@pytest.mark.parametrize("name", ["KernelInterpolator", "FiniteSampleReLU"])
def test_string_labels_are_interpolated(name: str) -> None:
    X, y = xy()
    labels = np.array(["cat", "dog", "emu"])[y]
    est = CLASSIFIERS[name]().fit(X.astype(np.float64), labels)
    assert list(est.predict(X.astype(np.float64))) == list(labels)


@pytest.mark.parametrize("name", ["LabelNoise", "RandomPretraining"])
@pytest.mark.parametrize("p", [-0.1, 1.5, np.nan, np.inf])
def test_label_noise_probability_out_of_range(name: str, p: float) -> None:
    X, y = xy()
    est = CLASSIFIERS[name]().set_params(p=p)
    with pytest.raises(ValueError, match=r"\bp\b"):
        est.fit(X, y)


@pytest.mark.parametrize("name", ["LabelNoise", "RandomPretraining"])
def test_label_noise_probability_wrong_type(name: str) -> None:
    X, y = xy()
    with pytest.raises(BAD_INPUT, match=r"\bp\b"):
        CLASSIFIERS[name]().set_params(p="half").fit(X, y)


@pytest.mark.parametrize("epochs", [-1, 1.5, "ten"])
def test_pretrain_epochs_invalid(epochs: Any) -> None:
    X, y = xy()
    with pytest.raises(BAD_INPUT, match="pretrain_epochs"):
        CLASSIFIERS["RandomPretraining"]().set_params(pretrain_epochs=epochs).fit(X, y)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"stop_margin_fraction": 1.5}, "stop_margin_fraction"),
        ({"stop_margin_fraction": -0.2}, "stop_margin_fraction"),
        ({"stop_margin_fraction": 0.0}, "stop_margin_fraction"),
        ({"lr": -1.0}, "lr"),
        ({"max_epochs": 0}, "max_epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"input_shape": (1, 3, 3)}, "input_shape"),
        ({"input_shape": (5,)}, "input_shape"),
    ],
)
def test_network_classifier_bad_params(params: dict[str, Any], match: str) -> None:
    X, y = xy()
    with pytest.raises(BAD_INPUT, match=match):
        small_net(**params).fit(X, y)


@pytest.mark.parametrize(("module", "match"), [("no_such_net", "no_such_net"), (42, "module")])
def test_network_classifier_unknown_module(module: Any, match: str) -> None:
    X, y = xy()
    with pytest.raises(BAD_INPUT, match=match):
        NetworkClassifier(module, max_epochs=1).fit(X, y)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"kernel": "no_such_kernel"}, "no_such_kernel"),
        ({"solver": "magic"}, "solver"),
        ({"tol": -1.0}, "tol"),
        ({"dtype": "int8"}, "dtype"),
        ({"block_size": 0}, "block_size"),
        ({"gamma": -1.0}, "gamma"),
        ({"device": "tpu"}, "device"),
    ],
)
@pytest.mark.parametrize("cls", [KernelInterpolator, KernelInterpolationRegressor])
def test_kernel_bad_params(cls: type, params: dict[str, Any], match: str) -> None:
    X, y = xy()
    est = cls(**{"device": "cpu", **params})
    with pytest.raises(BAD_INPUT, match=match):
        est.fit(X, y)


@pytest.mark.parametrize("cls", [FiniteSampleReLU, FiniteSampleReLURegressor])
@pytest.mark.parametrize("tol", [-1.0, np.nan, "small"])
def test_finite_sample_bad_tol(cls: type, tol: Any) -> None:
    X, y = xy()
    with pytest.raises(BAD_INPUT, match="tol"):
        cls(tol=tol).fit(X, y)


def test_finite_sample_duplicate_points_with_different_labels() -> None:
    X, y = xy()
    X[1] = X[0]
    with pytest.raises(ValueError, match=r"[Dd]uplicate|distinct|identical"):
        FiniteSampleReLU(random_state=0).fit(X, y)


# ------------------------------------------------------------------------------ transformers
TRANSFORMERS: dict[str, Callable[[], Any]] = {
    "PixelShuffle": lambda: PixelShuffle(random_state=0),
    "RandomPixels": lambda: RandomPixels(random_state=0),
    "GaussianPixels": lambda: GaussianPixels(random_state=0),
    "CenterCrop": lambda: CenterCrop(input_shape=(1, 2, 2), size=1),
    "PerImageWhitening": lambda: PerImageWhitening(),
}


@pytest.mark.parametrize("name", TRANSFORMERS)
def test_transformer_one_sample_works(name: str) -> None:
    X, _ = xy()
    out = TRANSFORMERS[name]().fit_transform(X[:1])
    assert len(out) == 1 and np.all(np.isfinite(out))


@pytest.mark.parametrize(
    ("est", "match"),
    [
        (CenterCrop(input_shape=(1, 3, 3), size=1), "input_shape|features"),
        (CenterCrop(input_shape=(1, 2, 2), size=3), "size"),
        (CenterCrop(input_shape=(1, 2, 2), size=0), "size"),
        (CenterCrop(input_shape=(1, 2, 2), size=(1, 1, 1)), "size"),
        (CenterCrop(input_shape=(2, 2), size=1), "input_shape"),
        (GaussianPixels(per_channel=True, input_shape=(3, 1, 1)), "input_shape|features"),
        (GaussianPixels(per_channel=True), "input_shape"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_input_shape_must_match(est: Any, match: str) -> None:
    X, _ = xy()
    with pytest.raises(BAD_INPUT, match=match):
        est.fit_transform(X)


# ------------------------------------------------------------------------------ measures
NETWORK_MEASURES_NO_DATA: dict[str, Callable[..., Any]] = {
    "count_parameters": M.count_parameters,
    "layer_norms": M.layer_norms,
    "product_norm": M.product_norm,
    "distance_from_init": M.distance_from_init,
    "path_norm": M.path_norm,
    "layers_view": lambda est, X=None, y=None: M.layers_view(est),
}
NETWORK_MEASURES_XY: dict[str, Callable[..., Any]] = {
    "normalized_loss": M.normalized_loss,
    "normalized_error": M.normalized_error,
    "margins": M.margins,
    "margin_quantile": M.margin_quantile,
    "spectral_bound": M.spectral_bound,
    "pac_bayes_bound": M.pac_bayes_bound,
    "pac_bayes_flatness": lambda est, X, y, **kw: M.pac_bayes_flatness(
        est, X, y, n_draws=1, n_iter=1, **kw
    ),
}
ALL_NETWORK_MEASURES = {**NETWORK_MEASURES_NO_DATA, **NETWORK_MEASURES_XY}
KERNEL_MEASURES: dict[str, Callable[..., Any]] = {
    "rkhs_norm": M.rkhs_norm,
    "kernel_margin_bound": M.kernel_margin_bound,
}


@pytest.mark.parametrize("name", ALL_NETWORK_MEASURES)
def test_measure_on_unfitted_network(name: str) -> None:
    X, y = xy()
    with pytest.raises(BAD_INPUT, match="fitted"):
        ALL_NETWORK_MEASURES[name](small_net(), X, y)


@pytest.mark.parametrize("name", ALL_NETWORK_MEASURES)
def test_measure_on_unfitted_wrapper(name: str) -> None:
    X, y = xy()
    with pytest.raises(BAD_INPUT, match="fitted"):
        ALL_NETWORK_MEASURES[name](LabelNoise(small_net()), X, y)


@pytest.mark.parametrize("name", KERNEL_MEASURES)
def test_kernel_measure_on_unfitted(name: str) -> None:
    X, y = xy()
    with pytest.raises(BAD_INPUT, match="fitted"):
        KERNEL_MEASURES[name](KernelInterpolator(), X, y)


@pytest.mark.parametrize("name", KERNEL_MEASURES)
def test_kernel_measure_on_a_network(name: str, fitted_net: NetworkClassifier) -> None:
    X, y = xy()
    with pytest.raises(BAD_INPUT, match=r"[Kk]ernel"):
        KERNEL_MEASURES[name](fitted_net, X, y)


@pytest.mark.parametrize("name", NETWORK_MEASURES_XY)
def test_measure_with_wrong_width(name: str, fitted_net: NetworkClassifier) -> None:
    X, y = xy()
    with pytest.raises(ValueError, match="features"):
        NETWORK_MEASURES_XY[name](fitted_net, X[:, :3], y)


def test_kernel_margin_bound_with_wrong_width(fitted_kernel: KernelInterpolator) -> None:
    X, y = xy()  # (rkhs_norm ignores X)
    with pytest.raises(ValueError, match="features"):
        M.kernel_margin_bound(fitted_kernel, X[:, :3], y)


@pytest.mark.parametrize("name", NETWORK_MEASURES_XY)
@pytest.mark.parametrize(
    ("X", "match"),
    [
        pytest.param(xy()[0].reshape(-1, 2, 2), "2-D|2D|dim", id="3d"),
        pytest.param(_with_bad_value(xy()[0], np.nan), "NaN", id="nan"),
        pytest.param(_with_bad_value(xy()[0], -np.inf), "infinity", id="inf"),
        pytest.param(np.full((24, N_FEATURES), "a", dtype=object), "convert|numeric", id="object"),
        pytest.param(np.zeros((0, N_FEATURES)), "0 sample|empty|no samples", id="empty"),
    ],
)
def test_measure_with_bad_X(
    name: str, X: np.ndarray, match: str, fitted_net: NetworkClassifier
) -> None:
    _, y = xy()
    y = y[: len(X)]
    with pytest.raises(BAD_INPUT, match=match):
        NETWORK_MEASURES_XY[name](fitted_net, X, y)


@pytest.mark.parametrize("name", NETWORK_MEASURES_XY)
def test_measure_with_mismatched_lengths(name: str, fitted_net: NetworkClassifier) -> None:
    X, y = xy()
    with pytest.raises(ValueError, match=r"inconsistent|samples|length"):
        NETWORK_MEASURES_XY[name](fitted_net, X, y[:-2])


@pytest.mark.parametrize("name", NETWORK_MEASURES_XY)
def test_measure_with_unknown_labels(name: str, fitted_net: NetworkClassifier) -> None:
    X, y = xy()
    with pytest.raises(ValueError, match="labels"):
        NETWORK_MEASURES_XY[name](fitted_net, X, y + 10)


@pytest.mark.parametrize("name", NETWORK_MEASURES_XY)
def test_measure_without_data(name: str, fitted_net: NetworkClassifier) -> None:
    with pytest.raises(ValueError, match="needs"):
        NETWORK_MEASURES_XY[name](fitted_net, None, None)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda net, X, y: M.margin_quantile(net, X, y, q=1.5), r"\bq\b"),
        (lambda net, X, y: M.margin_quantile(net, X, y, q=-0.1), r"\bq\b"),
        (lambda net, X, y: M.pac_bayes_flatness(net, X, y, max_drop=-0.1), "max_drop"),
        (lambda net, X, y: M.pac_bayes_flatness(net, X, y, max_drop=1.5), "max_drop"),
        (lambda net, X, y: M.pac_bayes_flatness(net, X, y, n_draws=0), "n_draws"),
        (lambda net, X, y: M.path_norm(net, p=0), r"\bp\b"),
        (lambda net, X, y: M.layer_norms(net, norm="bogus"), "norm"),
        (lambda net, X, y: M.product_norm(net, norm="bogus"), "norm"),
        (lambda net, X, y: M.normalized_loss(net, X, y, norm="bogus"), "norm"),
    ],
    ids=["q>1", "q<0", "max_drop<0", "max_drop>1", "n_draws=0", "p=0", "ln", "pn", "nl"],
)
def test_measure_bad_params(call: Callable, match: str, fitted_net: NetworkClassifier) -> None:
    X, y = xy()
    with pytest.raises(BAD_INPUT, match=match):
        call(fitted_net, X, y)


def test_kernel_margin_bound_bad_q(fitted_kernel: KernelInterpolator) -> None:
    X, y = xy()
    with pytest.raises(ValueError, match=r"\bq\b"):
        M.kernel_margin_bound(fitted_kernel, X, y, q=2.0)


def test_layers_view_on_non_network() -> None:
    with pytest.raises(TypeError, match="fitted network"):
        M.layers_view(object())


def test_layers_view_input_shape_mismatch(fitted_net: NetworkClassifier) -> None:
    with pytest.raises(ValueError, match="input_shape"):
        M.layers_view(fitted_net.module_, input_shape=(7,))


def test_layers_view_bad_input_shape(fitted_net: NetworkClassifier) -> None:
    with pytest.raises(ValueError, match="input_shape"):
        M.layers_view(fitted_net.module_, input_shape=(0,))


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(width=st.integers(1, 12).filter(lambda w: w != N_FEATURES))
def test_margins_any_wrong_width(width: int, fitted_net: NetworkClassifier) -> None:
    X = np.zeros((3, width), dtype=np.float32)
    with pytest.raises(ValueError, match="features"):
        M.margins(fitted_net, X, np.array([0, 1, 2]))


# ------------------------------------------------------------------------------ scorers
def test_unknown_scorer_name() -> None:
    with pytest.raises(ValueError, match="no_such_scorer"):
        get_scorer("no_such_scorer")


@pytest.mark.parametrize("name", [3, ["neg_path_norm"]])
def test_scorer_name_of_wrong_type(name: Any) -> None:
    with pytest.raises(BAD_INPUT):
        get_scorer(name)


def test_make_measure_scorer_needs_callable() -> None:
    with pytest.raises(TypeError, match="callable"):
        make_measure_scorer("path_norm")  # type: ignore[arg-type]


def test_scorer_on_unfitted_network() -> None:
    X, y = xy()
    with pytest.raises(BAD_INPUT, match="fitted"):
        get_scorer("neg_path_norm")(small_net(), X, y)


def test_scorer_with_wrong_width(fitted_net: NetworkClassifier) -> None:
    X, y = xy()
    with pytest.raises(ValueError, match="features"):
        make_measure_scorer(M.margin_quantile)(fitted_net, X[:, :3], y)


# ------------------------------------------------------------------------------ loaders
def _idx(shape: tuple[int, ...], data: bytes) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, len(shape)) + struct.pack(f">{len(shape)}I", *shape)
    return header + data


def _write_mnist(folder: Path, images: bytes, labels: bytes, gz: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    opener = gzip.open if gz else open
    with opener(folder / f"t10k-images-idx3-ubyte{suffix}", "wb") as fh:
        fh.write(images)
    with opener(folder / f"t10k-labels-idx1-ubyte{suffix}", "wb") as fh:
        fh.write(labels)
    return folder


def test_mnist_good_files_load(tmp_path: Path) -> None:
    folder = _write_mnist(tmp_path, _idx((2, 28, 28), bytes(2 * 784)), _idx((2,), bytes([3, 7])))
    X, y = load_mnist(folder, return_X_y=True)
    assert X.shape == (2, 784) and list(y) == [3, 7]


@pytest.mark.parametrize(
    ("images", "labels", "match"),
    [
        (_idx((2, 28, 28), bytes(784 + 10)), _idx((2,), bytes(2)), "truncated"),
        (_idx((2, 28, 28), bytes(2 * 784)), _idx((3,), bytes(2)), "truncated"),
        (b"\x00\x00", _idx((2,), bytes(2)), "corrupt"),
        (b"", _idx((2,), bytes(2)), "corrupt"),
        (b"\xff\xff\x08\x03" + bytes(12), _idx((2,), bytes(2)), "corrupt"),
        (_idx((2, 28), bytes(56)), _idx((2,), bytes(2)), "corrupt"),
        (_idx((2, 28, 28), bytes(2 * 784)), _idx((3,), bytes(3)), "3|2|match|labels"),
    ],
    ids=["img-trunc", "lab-trunc", "short-hdr", "empty", "bad-magic", "ndim", "counts"],
)
@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_mnist_corrupt_files(
    tmp_path: Path, images: bytes, labels: bytes, match: str, gz: bool
) -> None:
    folder = _write_mnist(tmp_path, images, labels, gz=gz)
    with pytest.raises(ValueError, match=match):
        load_mnist(folder)


def test_mnist_corrupt_gzip_stream(tmp_path: Path) -> None:
    folder = _write_mnist(tmp_path, b"", _idx((2,), bytes(2)))
    (folder / "t10k-images-idx3-ubyte").unlink()
    data = gzip.compress(_idx((2, 28, 28), bytes(2 * 784)))
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"corrupt|truncated|gzip"):
        load_mnist(folder)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(junk=st.binary(max_size=64))
def test_mnist_random_bytes_never_crash_obscurely(tmp_path: Path, junk: bytes) -> None:
    folder = _write_mnist(tmp_path / "junk", junk, _idx((2,), bytes(2)))
    with pytest.raises(ValueError, match=r"IDX|corrupt|truncated"):
        load_mnist(folder)


def test_mnist_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="t10k"):
        load_mnist(tmp_path)


def test_mnist_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"does not exist|not found|no such"):
        load_mnist(tmp_path / "absent")


def test_mnist_bad_kind(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="kind"):
        load_mnist(tmp_path, kind="validation")


def test_load_dataset_unknown_name() -> None:
    with pytest.raises(ValueError, match="cifar"):
        load_dataset("cifar")


def test_load_dataset_mnist_without_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_dataset(f"mnist:{tmp_path}")


def test_load_dataset_bad_n_samples() -> None:
    with pytest.raises(BAD_INPUT, match="n_samples"):
        load_dataset("digits", n_samples=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_samples": 1, "dim": 3}, "n_samples"),
        ({"n_samples": 0, "dim": 3}, "n_samples"),
        ({"n_samples": 10, "dim": 0}, "dim"),
        ({"n_samples": 10, "dim": 3, "radii": (1.0, 1.0)}, "radii"),
        ({"n_samples": 10, "dim": 3, "radii": (1.0, -1.0)}, "radii"),
        ({"n_samples": 10, "dim": 3, "radii": (1.0, np.nan)}, "radii"),
        ({"n_samples": 10, "dim": 3, "radii": (1.0,)}, "radii"),
        ({"n_samples": 10, "dim": 3, "radii": "ab"}, "radii"),
        ({"n_samples": 2.5, "dim": 3}, "n_samples"),
    ],
)
def test_make_hyperspheres_bad_args(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(BAD_INPUT, match=match):
        make_hyperspheres(**kwargs)


# ------------------------------------------------------------------------------ CLI
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "no_such_experiment"], "no_such_experiment"),
        (["run"], "study"),
        (["list", "--bogus"], "--bogus"),
        (["info", "extra"], "extra"),
        (["run", "kernel-interpolation", "--seed", "abc"], "seed"),
        (["run", "kernel-interpolation", "--n-jobs", "x"], "n-jobs"),
    ],
)
def test_cli_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_cli_mnist_folder_without_files(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["run", "kernel-interpolation", "--quick", "--data", f"mnist:{tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sklearn-gen: error:") and "t10k" in err


def test_cli_corrupt_mnist(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = _write_mnist(tmp_path, _idx((2, 28, 28), bytes(100)), _idx((2,), bytes(2)))
    assert main(["run", "kernel-interpolation", "--quick", "--data", f"mnist:{folder}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sklearn-gen: error:") and "truncated" in err


# ------------------------------------------------------------------------------ pickling
def test_pickled_network_classifier_predicts_the_same(fitted_net: NetworkClassifier) -> None:
    X, _ = xy()
    loaded = pickle.loads(pickle.dumps(fitted_net))
    np.testing.assert_array_equal(loaded.predict(X), fitted_net.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), fitted_net.predict_proba(X))
    assert M.count_parameters(loaded) == M.count_parameters(fitted_net)


def test_pickled_string_label_classifier() -> None:
    X, y = xy()
    net = small_net().fit(X, np.array(["a", "b", "c"])[y])
    loaded = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    loaded.partial_fit(X, np.array(["a", "b", "c"])[y])  # still trainable


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the no-CUDA fallback")
def test_pickle_from_cuda_loads_on_cpu(fitted_net: NetworkClassifier) -> None:
    X, _ = xy()
    state = fitted_net.__getstate__()
    state["device"] = "cuda"  # as a pickle written on a GPU machine says
    state["_requested_device"] = "cuda"
    state["device_"] = torch.device("cuda")
    loaded = NetworkClassifier.__new__(NetworkClassifier)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skorch warns that CUDA is absent
        loaded.__setstate__(state)
    assert loaded.device == "cuda"  # the requested device is kept for refits
    assert loaded.device_ == torch.device("cpu")
    assert all(p.device.type == "cpu" for p in loaded.module_.parameters())
    np.testing.assert_array_equal(loaded.predict(X), fitted_net.predict(X))

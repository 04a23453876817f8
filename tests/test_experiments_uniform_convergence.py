"""Nagarajan & Kolter (2019): hyperspheres, projection onto S', bounds versus m."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.datasets import load_digits

from sklearn_gen.datasets._hyperspheres import make_hyperspheres, project_to_other_sphere
from sklearn_gen.studies import loglog_slopes
from sklearn_gen.studies._uniform_convergence import (
    bounds_vs_sample_size,
    hypersphere_projection,
)
from sklearn_gen.studies.plotting._uniform_convergence import (
    plot_bounds_vs_sample_size,
    plot_hypersphere_projection,
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


# ------------------------------------------------------------------ data
def test_make_hyperspheres_radii_balance_shapes():
    X, y = make_hyperspheres(101, 7, (1.0, 1.5), random_state=0)
    assert X.shape == (101, 7) and y.shape == (101,)
    assert np.bincount(y).tolist() == [50, 51]
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), np.where(y == 0, 1.0, 1.5))
    assert not (np.diff(y) == 0).all()  # shuffled, not sorted


def test_make_hyperspheres_seed_determinism():
    a = make_hyperspheres(20, 5, random_state=3)
    b = make_hyperspheres(20, 5, random_state=3)
    c = make_hyperspheres(20, 5, random_state=4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.allclose(a[0], c[0])


def test_projection_moves_to_other_sphere_and_flips():
    radii = (1.0, 1.1)
    X, y = make_hyperspheres(50, 10, radii, random_state=0)
    Xp, yp = project_to_other_sphere(X, y, radii)
    np.testing.assert_array_equal(yp, 1 - y)
    np.testing.assert_allclose(np.linalg.norm(Xp, axis=1), np.where(y == 0, 1.1, 1.0))
    cosine = np.sum(X * Xp, axis=1) / np.linalg.norm(X, axis=1) / np.linalg.norm(Xp, axis=1)
    np.testing.assert_allclose(cosine, 1.0)  # same direction


@pytest.mark.parametrize(
    "call",
    [
        lambda: make_hyperspheres(1, 3),
        lambda: make_hyperspheres(10, 1),
        lambda: make_hyperspheres(10, 3, (1.0, 1.0)),
        lambda: make_hyperspheres(10, 3, (1.0, -2.0)),
        lambda: make_hyperspheres(10, 3, (1.0,)),
        lambda: project_to_other_sphere(np.ones((3, 2)), [0, 1, 2]),
        lambda: project_to_other_sphere(np.zeros((2, 2)), [0, 1]),
        lambda: project_to_other_sphere(np.ones(3), [0, 1, 0]),
        lambda: hypersphere_projection((1,)),
        lambda: hypersphere_projection((10,), dim=1),
        lambda: hypersphere_projection((10,), margin=-1.0),
        lambda: hypersphere_projection((10,), lr=-1.0),
        lambda: hypersphere_projection(()),
        lambda: bounds_vs_sample_size(np.ones((10, 2)), np.arange(10) % 2, (100,)),
        lambda: bounds_vs_sample_size(np.ones((10, 2)), np.arange(9) % 2, (4,)),
        lambda: bounds_vs_sample_size(np.ones((10, 2)), np.arange(10) % 2, (4,), margin=0),
        lambda: bounds_vs_sample_size(
            np.ones((10, 2)), np.arange(10) % 2, (4,), margin_fraction=1.5
        ),
        lambda: bounds_vs_sample_size(np.ones((10, 2)), np.arange(10) % 2, (4,), test_size=2.5),
        lambda: bounds_vs_sample_size(np.ones((10, 2)), np.arange(10) % 2, (4,), measures={"a": 1}),
        lambda: loglog_slopes(pd.DataFrame({"a": [1]}), x="m"),
        lambda: plot_hypersphere_projection(pd.DataFrame({"m": [1]})),
        lambda: plot_bounds_vs_sample_size(pd.DataFrame({"m": [1], "z": [2]})),
    ],
)
def test_bad_inputs_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


# ------------------------------------------------------------------ experiments
def test_hypersphere_projection_misclassifies_projected_set(tmp_path):
    # Quick setting (about 15 s on one CPU core): dim 400, radii 1 and 1.2, width 512,
    # trained to margin 5. At m = 4096 the net classifies fresh points far better than
    # chance but gets all of S' wrong. N&K's "test error ~ 0" needs far larger m and
    # width than a CPU test affords: here the test error is still about 0.25 (see the
    # report), so the test asserts S' error >= 0.9 and a falling, better-than-chance
    # test error rather than test error <= 0.1.
    frame = hypersphere_projection(
        (256, 4096), dim=400, radii=(1.0, 1.2), width=512, test_size=1000, device="cpu"
    )
    assert list(frame.columns) == [
        "m",
        "dim",
        "width",
        "repeat",
        "train_error",
        "test_error",
        "projected_error",
        "epochs",
        "converged",
    ]
    assert frame["converged"].all() and (frame["train_error"] == 0).all()
    small, large = frame.iloc[0], frame.iloc[-1]
    assert large["projected_error"] >= 0.9
    assert large["test_error"] < small["test_error"]
    assert large["test_error"] <= 0.35
    fig = plot_hypersphere_projection(frame)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
    assert ax.get_xscale() == "log"
    fig.savefig(tmp_path / "hyperspheres.png")
    assert (tmp_path / "hyperspheres.png").stat().st_size > 0


def test_bounds_vs_sample_size_digits(digits, tmp_path):
    X, y = digits
    frame = bounds_vs_sample_size(
        X,
        y,
        (200, 400, 800, 1200),
        depth=5,
        width=128,
        margin=5.0,  # margin 10 is not reached within 200 epochs at this width
        margin_fraction=0.99,
        lr=0.05,
        batch_size=32,
        max_epochs=200,
        device="cpu",
        measures={"n_train": lambda est, X, y: float(len(X))},
    )
    expected = ["m", "repeat", "train_error", "test_error", "epochs", "converged"]
    expected += ["distance_from_init", "spectral_bound", "pac_bayes_bound", "n_train"]
    assert list(frame.columns) == expected
    assert frame["converged"].all()
    np.testing.assert_array_equal(frame["n_train"], frame["m"])
    slopes = loglog_slopes(frame)
    assert slopes["test_error"] < 0  # the test error falls with m ...
    assert slopes["distance_from_init"] > 0  # ... while the distance from init grows
    # On digits (m <= 1200) the bounds are not clearly growing as in N&K's MNIST runs
    # (slopes +0.10 / +0.08 there): seeds 0-5 ranged from -0.38 to +0.13 (the growth of the
    # norms only just offsets the 1/sqrt(m) factor); this seed, on the runner's stratified
    # nested subsets, gives about -0.25. Assert only that they do not fall the way a useful
    # bound (or the test error, slope about -0.8) does.
    assert slopes["spectral_bound"] > -0.5 and slopes["pac_bayes_bound"] > -0.5
    fig = plot_bounds_vs_sample_size(frame)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
        assert "slope" in ax.get_legend().get_texts()[0].get_text()
    fig.savefig(tmp_path / "bounds.png")
    assert (tmp_path / "bounds.png").stat().st_size > 0


def test_n_jobs_gives_identical_frames(digits):
    X, y = digits
    kwargs = dict(depth=2, width=16, margin=1.0, max_epochs=20, device="cpu")
    one = bounds_vs_sample_size(X, y, (40, 80), n_jobs=1, **kwargs)
    two = bounds_vs_sample_size(X, y, (40, 80), n_jobs=2, **kwargs)
    pd.testing.assert_frame_equal(one, two)
    hs = dict(dim=10, width=16, test_size=50, max_epochs=20, device="cpu")
    pd.testing.assert_frame_equal(
        hypersphere_projection((20, 40), n_jobs=1, **hs),
        hypersphere_projection((20, 40), n_jobs=2, **hs),
    )


def test_loglog_slopes_power_law():
    m = np.array([10, 100, 1000, 10, 100, 1000])
    frame = pd.DataFrame({"m": m, "up": m**0.5, "down": 1.0 / m, "repeat": [0] * 3 + [1] * 3})
    slopes = loglog_slopes(frame, columns=["up", "down", "missing"])
    assert slopes["up"] == pytest.approx(0.5)
    assert slopes["down"] == pytest.approx(-1.0)
    assert "missing" not in slopes.index


def test_nk_recipe_options_reach_the_network():
    # N&K's notebook recipe at toy scale: sigmoid cross-entropy, plain SGD, margin rule on
    # 90% of the points alone (no interpolation required)
    frame = hypersphere_projection(
        (32,), dim=10, width=32, test_size=50, criterion="bce", init="xavier", lr=0.5,
        momentum=0.0, margin=1.0, margin_fraction=0.9, max_epochs=40, device="cpu",
    )  # fmt: skip
    assert frame[["m", "train_error", "test_error", "projected_error"]].notna().all().all()
    assert frame["epochs"].iloc[0] <= 40


def test_preset_is_refused_where_a_study_has_none(tmp_path, capsys):
    from sklearn_gen.cli import main

    arguments = ["run", "expressivity", "--preset", "nagarajan2019", "--out", str(tmp_path)]
    assert main(arguments) == 2
    assert "has no preset 'nagarajan2019'" in capsys.readouterr().err

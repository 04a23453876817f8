"""The measure-ranking study: a zoo trained over a grid, every measure read and ranked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_digits
from skorch import NeuralNetClassifier
from torch import nn

from sklearn_gen import NetworkClassifier
from sklearn_gen.networks import RecordInitialParams
from sklearn_gen.studies import measure_ranking, rank_measures, zoo_frame
from sklearn_gen.studies._measure_ranking import RANKING_MEASURES

pytestmark = pytest.mark.filterwarnings("ignore:The stopping rules")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:300] / 16).astype(np.float32), y[:300]


@pytest.fixture(scope="module")
def zoo(digits):
    X, y = digits
    return measure_ranking(
        X,
        y,
        grid={"width": [16, 64], "lr": [0.1, 0.2]},
        target_train_loss=0.05,
        n_repeats=1,
        random_state=0,
    )


def test_the_zoo_has_a_row_per_network_and_every_measure(zoo):
    assert len(zoo) == 4
    assert set(RANKING_MEASURES) <= set(zoo.columns)
    assert zoo[["width", "lr"]].drop_duplicates().shape[0] == 4
    converged = zoo[zoo["converged"]]
    assert len(converged) >= 3
    # the stopping rule: the networks that met it fit their training sample
    assert (converged["train_accuracy"] > 0.95).all()
    np.testing.assert_allclose(
        zoo["generalization_gap"], zoo["train_accuracy"] - zoo["test_accuracy"]
    )
    # margin-based measures are defined where the network fits (the margin quantile > 0)
    assert np.isfinite(converged["inverse_margin"]).all()
    assert (converged["measure_seconds"] > 0).all() and (converged["fit_seconds"] > 0).all()
    # and it ranks (one test: the zoo fixture is trained once per worker)
    table = rank_measures(
        converged,
        list(RANKING_MEASURES),
        "generalization_gap",
        ["width", "lr"],
        n_bootstrap=20,
        random_state=0,
    )
    assert set(table["measure"]) == set(RANKING_MEASURES)
    assert np.isfinite(table["kendall_tau"]).sum() >= len(RANKING_MEASURES) - 2


def test_the_zoo_is_reproducible(digits):
    X, y = digits
    kwargs = dict(
        grid={"width": [16], "lr": [0.05, 0.2]},
        target_train_loss=0.05,
        n_repeats=1,
        measures=["log_spectral_product", "path_norm"],
        random_state=0,
    )
    first, again = measure_ranking(X, y, **kwargs), measure_ranking(X, y, **kwargs)
    timing = ["fit_seconds", "measure_seconds"]
    pd.testing.assert_frame_equal(first.drop(columns=timing), again.drop(columns=timing))


def test_a_users_own_zoo_ranks_too(digits):
    X, y = digits
    models, params = [], []
    for hidden in (8, 32, 64):
        torch.manual_seed(hidden)
        net = NeuralNetClassifier(
            nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10)),
            criterion=nn.CrossEntropyLoss,
            max_epochs=20,
            lr=0.2,
            train_split=None,
            verbose=0,
            callbacks=[RecordInitialParams()],
        ).fit(X[:200], y[:200])
        models.append(net)
        params.append({"width": hidden})
    models.append(
        NetworkClassifier(
            "mlp", module__hidden=(16,), max_epochs=20, lr=0.1, device="cpu", random_state=0
        ).fit(X[:200], y[:200])
    )
    params.append({"width": 16})
    frame = zoo_frame(
        models,
        X[:200],
        y[:200],
        X[200:],
        y[200:],
        hyperparameters=params,
        measures=["log_spectral_product", "distance_from_init", "path_norm"],
    )
    assert len(frame) == 4 and np.isfinite(frame["distance_from_init"]).all()
    table = rank_measures(
        frame,
        ["log_spectral_product", "path_norm"],
        "generalization_gap",
        ["width"],
        n_bootstrap=10,
        random_state=0,
    )
    assert list(table.columns[:2]) == ["measure", "n_models"]


def test_bad_arguments_are_refused_before_training(digits):
    X, y = digits
    with pytest.raises(ValueError, match="grid axes"):
        measure_ranking(X, y, grid={"optimizer": ["sgd", "adam"]})
    with pytest.raises(ValueError, match=r"network\.module must be 'mlp' or 'nin'"):
        measure_ranking(X, y, network=NetworkClassifier("convnet"))
    with pytest.raises(ValueError, match="measures"):
        measure_ranking(X, y, measures=["not_a_measure"])
    with pytest.raises(ValueError, match="target_train_loss"):
        measure_ranking(X, y, target_train_loss=0.0)
    with pytest.raises(TypeError, match="network must be a NetworkClassifier"):
        measure_ranking(X, y, network="mlp")
    with pytest.raises(ValueError, match="hyperparameters has 1 entries for 2 models"):
        zoo_frame([object(), object()], X, y, X, y, hyperparameters=[{}])


def test_cli_quick_run_writes_the_ranked_table(tmp_path):
    from sklearn_gen.cli import main

    out = tmp_path / "ranking"
    assert (
        main(["run", "measure-ranking", "--quick", "--quiet", "--out", str(out), "--threads", "1"])
        == 0
    )
    summary = (out / "summary.md").read_text()
    assert "## Ranking" in summary and "robust sign-error" in summary
    frame = pd.read_csv(out / "results.csv")
    assert len(frame) == 4 and "generalization_gap" in frame.columns
    assert (out / "measure_ranking.png").stat().st_size > 10_000


def test_a_nin_zoo_sets_channels_blocks_and_momentum(digits):
    X, y = digits
    template = NetworkClassifier("nin", input_shape=(1, 8, 8), max_epochs=3, lr=0.05, device="cpu")
    zoo = measure_ranking(
        X,
        y,
        grid={"width": [4], "depth": [1, 2], "momentum": [0.0, 0.9]},
        network=template,
        measures=["n_params"],
        target_train_loss=0.01,
        n_repeats=1,
        random_state=0,
    )
    assert len(zoo) == 4
    assert sorted(zip(zoo["depth"], zoo["momentum"], strict=True)) == [
        (1, 0.0),
        (1, 0.9),
        (2, 0.0),
        (2, 0.9),
    ]
    # a NiN block of 4 channels on 1 input channel, then 4 -> 4 blocks, then 1x1 to 10
    first, later, head = 4 * 9 + 4 + 2 * 20, 4 * 36 + 4 + 2 * 20, 4 * 10 + 10
    expected = np.where(zoo["depth"] == 1, first + head, first + later + head)
    np.testing.assert_array_equal(zoo["n_params"], expected)
    assert not zoo["converged"].any()  # 3 epochs cannot reach cross-entropy 0.01


def test_zoo_frame_refuses_labels_a_model_never_saw(digits):
    X, y = digits
    net = NetworkClassifier(
        "mlp", module__hidden=(8,), max_epochs=2, lr=0.1, device="cpu", random_state=0
    ).fit(X[:200], y[:200])
    # the reproducer: y_test + 1 (the 9s become a 10 the network never saw)
    with pytest.raises(ValueError, match=r"y_test holds labels that models\[0\] was not"):
        zoo_frame([net], X[:200], y[:200], X[200:], y[200:] + 1, measures=["n_params"])
    with pytest.raises(ValueError, match=r"y_train holds labels that models\[0\]"):
        zoo_frame([net], X[:200], y[:200] + 1, X[200:], y[200:], measures=["n_params"])


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--preset", "jiang2020"], "--preset jiang2020 needs --data"),
        (["--preset", "jiang2020", "--quick", "--data", "digits"], "has no quick form"),
    ],
)
@pytest.mark.parametrize("study", ["measure-ranking", "all"])
def test_cli_jiang2020_needs_data_and_refuses_quick(tmp_path, capsys, study, arguments, message):
    from sklearn_gen.cli import main

    out = tmp_path / "out"
    assert main(["run", study, *arguments, "--quiet", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert message in error and len(error.strip().splitlines()) == 1
    assert not out.exists()  # refused before any work


def _python_blocks(path) -> list[str]:
    """The ``.. code-block:: python`` blocks of an rst file, dedented."""
    import textwrap

    blocks, lines = [], path.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip() != ".. code-block:: python":
            continue
        body = []
        for following in lines[i + 2 :]:
            if following and not following.startswith("   "):
                break
            body.append(following)
        blocks.append(textwrap.dedent("\n".join(body)))
    return blocks


def test_the_docs_snippets_run(capsys):
    from pathlib import Path

    blocks = _python_blocks(Path(__file__).parents[1] / "docs" / "measure_ranking.rst")
    assert len(blocks) >= 2
    namespace: dict = {}
    for block in blocks:  # in order, one namespace, as a reader pastes them
        exec(compile(block, "docs/measure_ranking.rst", "exec"), namespace)
    table, audit = namespace["table"], namespace["audit"]
    assert set(table["measure"]) == {"path_norm", "inverse_margin", "log_spectral_product"}
    assert np.isfinite(table["kendall_tau_low"]).any()  # 8 models: intervals
    assert audit.attrs["audited"] == ["lr"]
    assert "signed_cmi" in capsys.readouterr().out


def _synthetic_zoo(seed: int = 0) -> pd.DataFrame:
    """A study-shaped frame: 2 x 2 x 2 configurations, 2 repeats, some networks dropped."""
    import itertools

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        [
            {"width": w, "lr": lr, "dropout": d, "repeat": r}
            for w, lr, d, r in itertools.product((32, 128), (0.05, 0.1), (0.0, 0.2), (0, 1))
        ]
    )
    n = len(frame)
    frame["n_test"] = 400
    frame["generalization_gap"] = (
        0.5 * frame["lr"] + 0.3 * frame["dropout"] + rng.normal(0, 0.01, n)
    )
    frame["path_norm"] = frame["generalization_gap"] + rng.normal(0, 0.005, n)
    frame["mean_alpha"] = -frame["generalization_gap"] + rng.normal(0, 0.005, n)  # reversed
    frame["converged"] = True
    frame.loc[[3, 12, 13], "converged"] = False  # two cells lose networks
    return frame


def test_the_study_ranking_reports_direction_and_the_dropped_networks():
    from sklearn_gen.studies._measure_ranking import lost_cells, rank_zoo, ranking_markdown

    frame = _synthetic_zoo()
    lost = lost_cells(frame, ["width", "lr", "dropout"])
    assert lost[["n_networks", "n_converged"]].values.tolist() == [[2, 1], [2, 0]]
    ranking = rank_zoo(frame, n_bootstrap=20, random_state=0)
    assert list(ranking.table["measure"]) == ["path_norm", "mean_alpha"]
    assert ranking.table.set_index("measure").loc["mean_alpha", "wrong_direction"]
    # seeds averaged per configuration: Psi is that of the configuration means
    expected = rank_measures(
        ranking.converged,
        "path_norm",
        "generalization_gap",
        ranking.axes,
        repeats="mean",
        n_bootstrap=0,
    )["psi"].iloc[0]
    assert ranking.table["psi"].iloc[0] == pytest.approx(expected)
    assert len(ranking.every) == 2 and len(ranking.complete) == 2
    text = ranking_markdown(ranking)
    assert "mean_alpha (wrong direction)" in text
    assert "3 networks missed the stopping rule, in 2 of the 8 configurations" in text
    assert "Psi, complete groups" in text

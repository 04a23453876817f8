"""Packs (fit_pack): members agree with their separate fits, stop and freeze on their own
rules, come out as ordinary fitted estimators, and bad inputs are refused early."""

from __future__ import annotations

import logging
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from skorch.dataset import ValidSplit

import sklearn_gen
from sklearn_gen import KernelInterpolator, LabelNoise, NetworkClassifier
from sklearn_gen.measures import distance_from_init, spectral_bound
from sklearn_gen.metrics import make_measure_scorer
from sklearn_gen.networks import _stacked, fit_many, fit_pack, group_packs, pack_key, pack_refusal

ATOL = 1e-5  # float32 rounding: the stacked products add in another order


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return train_test_split(X, y, train_size=400, test_size=300, random_state=0, stratify=y)


def small(**params) -> NetworkClassifier:
    defaults = dict(module="mlp", lr=0.1, batch_size=64, max_epochs=1, device="cpu")
    if params.get("module", "mlp") == "mlp":
        defaults["module__hidden"] = (32,)
    defaults.update(params)
    return NetworkClassifier(**defaults)


def state(net: NetworkClassifier) -> dict[str, torch.Tensor]:
    return {k: v.detach().double() for k, v in net.module_.state_dict().items()}


def assert_same_network(packed: NetworkClassifier, alone: NetworkClassifier, X, atol=ATOL):
    a, b = state(packed), state(alone)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.allclose(a[name], b[name], atol=atol, rtol=0), name
    np.testing.assert_allclose(packed.predict_proba(X), alone.predict_proba(X), atol=atol)
    for name, tensor in alone.initial_params_.items():  # the same initialization, exactly
        assert torch.equal(packed.initial_params_[name], tensor), name
    assert packed.n_epochs_ == alone.n_epochs_
    assert packed.n_steps_ == alone.n_steps_
    assert packed.converged_ == alone.converged_


# ------------------------------------------------------------------ agreement with fit
def test_one_epoch_members_match_their_separate_fits(digits):
    X, X_test, y, _ = digits
    nets = [
        small(random_state=0),
        small(random_state=1, lr=0.05, momentum=0.5),
        small(random_state=2, lr=0.2, weight_decay=1e-3, init_scale=2.0),
        small(random_state=3, momentum=0.0),
    ]
    alone = [clone(n).fit(X, y) for n in nets]
    fitted = fit_pack(nets, X, y)
    assert [id(f) for f in fitted] == [id(n) for n in nets]  # the estimators, in order
    for packed, single in zip(nets, alone, strict=True):
        assert_same_network(packed, single, X_test)
        batches_p = packed.history[-1, "batches"]
        batches_s = single.history[-1, "batches"]
        assert [b["train_batch_size"] for b in batches_p] == [
            b["train_batch_size"] for b in batches_s
        ]
        np.testing.assert_allclose(
            [b["train_loss"] for b in batches_p], [b["train_loss"] for b in batches_s], atol=ATOL
        )
        assert set(packed.history[-1]) == set(single.history[-1])
        assert packed.history[-1, "train_acc"] == pytest.approx(single.history[-1, "train_acc"])


def test_momentum_and_lr_decay_state_let_partial_fit_continue_alike(digits):
    X, X_test, y, _ = digits
    nets = [small(random_state=s, max_epochs=2, lr_decay=0.9) for s in range(2)]
    alone = [clone(n).fit(X, y) for n in nets]
    fit_pack(nets, X, y)
    for packed, single in zip(nets, alone, strict=True):
        lr_p = packed.optimizer_.param_groups[0]["lr"]
        assert lr_p == single.optimizer_.param_groups[0]["lr"] == pytest.approx(0.1 * 0.9**2)
        assert packed.history[:, "event_lr"] == single.history[:, "event_lr"]
        for p, q in zip(packed.module_.parameters(), single.module_.parameters(), strict=True):
            buf_p = packed.optimizer_.state[p]["momentum_buffer"]
            buf_s = single.optimizer_.state[q]["momentum_buffer"]
            assert torch.allclose(buf_p, buf_s, atol=ATOL)
        packed.partial_fit(X, y)
        single.partial_fit(X, y)
        assert_same_network(packed, single, X_test, atol=1e-4)


def test_label_noise_members_get_their_own_corrupted_labels(digits):
    X, X_test, y, _ = digits
    members = [
        LabelNoise(small(random_state=seed), p=p, random_state=seed)
        for p in (0.0, 0.5, 1.0)
        for seed in (0, 1)
    ]
    alone = [clone(m).fit(X, y) for m in members]
    fit_pack(members, X, y)
    for packed, single in zip(members, alone, strict=True):
        np.testing.assert_array_equal(packed.y_fit_, single.y_fit_)
        np.testing.assert_array_equal(packed.corrupted_mask_, single.corrupted_mask_)
        np.testing.assert_array_equal(packed.classes_, single.classes_)
        assert packed.fit_fingerprint_ == single.fit_fingerprint_
        assert packed.estimator_ is not packed.estimator  # a fitted clone, as in fit
        assert_same_network(packed.estimator_, single.estimator_, X_test)
        np.testing.assert_array_equal(packed.predict(X_test), single.predict(X_test))


def test_one_label_vector_per_member(digits):
    X, _, y, _ = digits
    rng = np.random.RandomState(0)
    ys = [y, rng.permutation(y), np.asarray([f"c{v}" for v in y])]
    nets = [small(random_state=0) for _ in ys]
    alone = [clone(n).fit(X, y_k) for n, y_k in zip(nets, ys, strict=True)]
    fit_pack(nets, X, [*np.asarray(ys[:2]).tolist(), ys[2]])
    for packed, single in zip(nets, alone, strict=True):
        assert_same_network(packed, single, X)
    assert list(nets[2].classes_) == [f"c{v}" for v in range(10)]


@pytest.mark.parametrize(
    "params",
    [
        dict(module="deep_fc", module__depth=3, module__width=16),  # bias-free chain
        dict(module="mlp", module__hidden=(16, 8), input_shape=(1, 8, 8)),  # deeper chain
        dict(module="mlp", batch_norm=True),  # not a plain chain: the generic step
    ],
)
def test_fully_connected_variants_match_two_epochs(digits, params):
    X, X_test, y, _ = digits
    nets = [small(random_state=s, max_epochs=2, **params) for s in range(3)]
    alone = [clone(n).fit(X, y) for n in nets]
    fit_pack(nets, X, y)
    for packed, single in zip(nets, alone, strict=True):
        assert_same_network(packed, single, X_test)


@pytest.mark.parametrize("vectorize", [False, True])
def test_conv_batch_norm_and_augmentation_match_one_epoch(monkeypatch, vectorize):
    # on the CPU the generic step runs member by member; vmap is what CUDA uses
    monkeypatch.setattr(_stacked, "_VMAP_ON_CPU", vectorize)
    rng = np.random.RandomState(0)
    X = rng.rand(48, 2 * 8 * 8).astype(np.float32)
    y = rng.randint(0, 3, 48)
    net = NetworkClassifier(
        "convnet",
        input_shape=(2, 8, 8),
        module__width=4,
        module__kernel_size=3,
        batch_norm=True,
        augment=True,
        augment_padding=1,
        lr=0.05,
        batch_size=16,
        max_epochs=1,
        device="cpu",
    )
    nets = [clone(net).set_params(random_state=s) for s in range(3)]
    alone = [clone(n).fit(X, y) for n in nets]
    fit_pack(nets, X, y)
    for packed, single in zip(nets, alone, strict=True):
        # running statistics included; member by member, the same computation exactly
        assert_same_network(packed, single, X, atol=ATOL if vectorize else 0.0)
        tracked = [v for k, v in packed.module_.state_dict().items() if "num_batches" in k]
        assert tracked and all(int(v) == 3 for v in tracked)


# ------------------------------------------------------------------ stopping and freezing
def test_each_member_stops_on_its_own_rule_and_is_frozen(digits):
    X, X_test, y, _ = digits
    X, y = X[:150], y[:150]
    nets = [
        small(random_state=0, max_epochs=40, stop_on_interpolation=True, batch_size=32),
        small(random_state=1, max_epochs=40, stop_train_loss=0.3, batch_size=32),
        small(random_state=2, max_epochs=2, batch_size=32),  # no rule: runs its 2 epochs
        small(random_state=3, max_epochs=3, stop_margin=100.0, batch_size=32),  # never met
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        alone = [clone(n).fit(X, y) for n in nets]
        fit_pack(nets, X, y)
    pack_warnings = [w for w in caught if "estimators [3]" in str(w.message)]
    assert len(pack_warnings) == 1 and pack_warnings[0].category is ConvergenceWarning
    epochs = [n.n_epochs_ for n in nets]
    assert epochs == [n.n_epochs_ for n in alone]
    assert 2 < epochs[0] < 40 and 2 < epochs[1] < 40 and epochs[2] == 2 and epochs[3] == 3
    assert nets[0].history[-1, "stopped_by"] == "interpolate"
    assert nets[1].history[-1, "stopped_by"] == "loss"
    assert [n.converged_ for n in nets] == [True, True, True, False]
    for packed, single in zip(nets, alone, strict=True):
        # a member that stopped early kept its weights while the others trained on
        assert_same_network(packed, single, X_test, atol=1e-4)
        assert len(packed.history) == packed.n_epochs_
    assert nets[0].score(X, y) == 1.0


@pytest.mark.parametrize("chunked", [False, True])
def test_the_margin_fraction_and_bce_rules_stop_a_pack_where_a_single_fit_stops(
    digits, monkeypatch, chunked
):
    # one stopping decision (StoppingRules.record): the margin rule counts the points that
    # reach the margin, in a pack as in a fit, and a bce pack records the bce training loss
    if chunked:  # the evaluation in chunks of 32 samples, loss and margins per chunk
        monkeypatch.setattr(_stacked, "_EVAL_SAMPLES", 64)
        monkeypatch.setattr(_stacked, "_EVAL_LOGITS", 1)
    X, X_test, y, _ = digits
    X, y = X[:150], y[:150]
    nets = [
        small(random_state=0, max_epochs=60, stop_margin=2.0, stop_margin_fraction=0.9),
        small(random_state=1, max_epochs=60, stop_margin=2.0, stop_margin_fraction=0.9),
    ]
    bce = [
        small(random_state=s, criterion="bce", lr=0.5, max_epochs=40, stop_train_loss=0.1)
        for s in (0, 1)
    ]
    alone = [clone(n).fit(X, y) for n in nets + bce]
    fit_pack(nets, X, y)
    fit_pack(bce, X, y)
    for packed, single in zip(nets + bce, alone, strict=True):
        assert packed.n_epochs_ == single.n_epochs_ and packed.converged_ and single.converged_
        assert packed.history[-1, "stopped_by"] == single.history[-1, "stopped_by"]
        for key in ("train_loss_full", "margin_quantile"):  # float32 sums in another order
            np.testing.assert_allclose(
                packed.history[:, key], single.history[:, key], rtol=1e-4, atol=1e-5
            )
        assert_same_network(packed, single, X_test, atol=1e-4)
    assert nets[0].history[-1, "margin_fraction"] >= 0.9
    assert "margin_fraction" in nets[0].history[0]


@pytest.mark.parametrize("hidden", [(32,), (16, 8)])
def test_the_chain_fast_path_is_the_generic_step(digits, hidden):
    # the hand-written chain step (kept: bench_packs.py measures it faster on the CPU)
    # against the generic one (vmap of functional_call, autograd), on the same stacked
    # weights and batches: logits, per-member losses and every gradient agree
    from types import SimpleNamespace

    X, _, y, _ = digits
    nets = [small(random_state=s, module__hidden=hidden).fit(X, y) for s in range(3)]
    stack = _stacked._Stack([SimpleNamespace(net=n) for n in nets])
    criterion = nets[0].criterion_
    chain = _stacked._ChainStep.of(nets[0].module_, criterion)
    assert chain is not None
    generic = _stacked._VmapStep(stack, criterion)
    rng = np.random.RandomState(0)
    for _ in range(3):  # three batches, each member its own rows
        index = torch.as_tensor(rng.randint(0, len(X), (3, 64)))
        xb, yb = torch.as_tensor(X)[index], torch.as_tensor(y)[index]
        fast, slow = chain(stack.params, xb, yb), generic(stack.params, xb, yb)
        # float32, products summed in another order: relative 1e-5 of values of order 1
        torch.testing.assert_close(fast[0], slow[0], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(fast[1], slow[1], rtol=1e-5, atol=1e-5)
        for a, b in zip(fast[2], slow[2], strict=True):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
        # the chain's forward alone gives the same logits, and on rows every member reads
        # (the stopping rules' pass) the members' own logits of them
        torch.testing.assert_close(chain.forward(stack.params, xb), fast[0])
        rows = torch.as_tensor(X[:50])
        shared = chain.forward(stack.params, rows.expand(len(nets), *rows.shape))
        for k, net in enumerate(nets):
            own = net.module_(rows)
            torch.testing.assert_close(shared[k], own, rtol=1e-5, atol=1e-5)


def test_packed_and_separate_training_agree_statistically(digits):
    X, X_test, y, y_test = digits
    nets = [small(random_state=s, max_epochs=8, module__hidden=(64,)) for s in range(4)]
    alone = [clone(n).fit(X, y).score(X_test, y_test) for n in nets]
    packed = [n.score(X_test, y_test) for n in fit_pack(nets, X, y)]
    spread = np.std(alone) + np.std(packed)
    assert abs(np.mean(packed) - np.mean(alone)) <= 2 * spread + 0.01
    assert np.mean(packed) > 0.85


# ------------------------------------------------------------------ fitted members are ordinary
def test_fitted_members_pickle_predict_and_measure(digits):
    X, X_test, y, y_test = digits
    nets = fit_pack([small(random_state=s, max_epochs=2) for s in range(2)], X, y)
    alone = clone(nets[0]).fit(X, y)
    net = nets[0]
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(restored.predict(X_test), net.predict(X_test))
    assert restored.score(X_test, y_test) == net.score(X_test, y_test)
    distance = distance_from_init(net)
    assert distance > 0
    assert distance == pytest.approx(distance_from_init(alone), rel=1e-4)
    bound = spectral_bound(net, X, y, q=0.5)
    assert np.isfinite(bound)
    assert bound == pytest.approx(spectral_bound(alone, X, y, q=0.5), rel=1e-3)
    scorer = make_measure_scorer(distance_from_init)
    assert scorer(net, X_test, y_test) == pytest.approx(-distance)
    clone(net).fit(X, y)  # and it is still an estimator sklearn can clone and refit


# ------------------------------------------------------------------ packability
@pytest.mark.parametrize(
    "estimator, words",
    [
        (small(dropout=0.5), "dropout"),
        (small(optimizer=torch.optim.Adam), "optimizer=Adam"),
        (small(optimizer__nesterov=True), "optimizer__nesterov"),
        (small(precision="bf16"), "precision"),
        (small(callbacks=[("x", ValidSplit(3))]), "callbacks"),
        (small(train_split=ValidSplit(5)), "train_split"),
        (small(warm_start=True), "warm_start"),
        (small(iterator_train__batch_size=8), "iterator_train__batch_size"),
        (small(module=torch.nn.Linear(64, 10)), "instance"),
        (KernelInterpolator(), "KernelInterpolator is not a NetworkClassifier"),
        (LabelNoise(small(dropout=0.2)), "LabelNoise's estimator: dropout"),
    ],
)
def test_unpackable_settings_are_refused_with_a_reason(estimator, words):
    reason = pack_refusal(estimator)
    assert reason is not None and words in reason
    assert pack_key(estimator) is None


def test_pack_keys_group_what_can_share_a_pack():
    base = small()
    same = [
        base,
        small(lr=0.01, momentum=0.0, weight_decay=0.1, lr_decay=0.9, max_epochs=7),
        small(random_state=5, init_scale=3.0, stop_on_interpolation=True),
        LabelNoise(small(random_state=1), p=0.3, random_state=2),
    ]
    assert len({pack_key(e) for e in same}) == 1
    different = [
        small(batch_size=32),
        small(module__hidden=(16,)),
        small(module="deep_fc"),
        small(batch_norm=True),
        small(criterion=torch.nn.MultiMarginLoss),
        small(input_shape=(1, 8, 8)),
    ]
    keys = {pack_key(e) for e in different}
    assert len(keys) == len(different) and pack_key(base) not in keys
    assert group_packs([*same, *different, small(dropout=0.1)]) == [
        [0, 1, 2, 3],
        *[[i] for i in range(4, 11)],
    ]
    assert group_packs(same, data_keys=[0, 1, 0, 1], max_pack_size=1) == [[0], [2], [1], [3]]


#: A value other than the default for every NetworkClassifier parameter (None: the
#: parameter makes the estimator unpackable when set, which pack_refusal reports).
_OTHER_VALUES = {
    "module": "deep_fc",
    "input_shape": (1, 8, 8),
    "criterion": "bce",
    "optimizer": torch.optim.Adam,
    "batch_size": 16,
    "dropout": 0.5,
    "batch_norm": True,
    "augment": True,
    "augment_padding": 2,
    "init": "xavier",
    "precision": "bf16",
    "channels_last": True,
    "train_split": ValidSplit(5),
    "callbacks": [("noop", sklearn_gen.networks._callbacks.BatchAccuracy())],
    "device": "meta",
    "warm_start": True,
    "module__hidden": (16,),
    "classes": list(range(12)),
    "compile": True,
    "dataset": torch.utils.data.TensorDataset,
    "iterator_train": type("Loader", (torch.utils.data.DataLoader,), {}),
    "iterator_valid": type("Loader", (torch.utils.data.DataLoader,), {}),
    "predict_nonlinearity": None,
    "torch_load_kwargs": {"weights_only": False},
    "use_caching": False,
}


def test_every_parameter_is_carried_per_member_or_shared():
    """A parameter added to NetworkClassifier is compared across a pack's members unless it
    is declared per member: changing any other parameter changes the key (or makes the
    estimator unpackable); changing a per-member parameter keeps it."""
    base = small(augment=False)
    params = NetworkClassifier("mlp").get_params(deep=False)
    per_member = {name for name in params if name in _stacked.PER_MEMBER}
    assert per_member == set(_stacked.PER_MEMBER)  # no stale name in the list
    for name in sorted(params):
        if name in _stacked.PER_MEMBER or name.startswith("_"):  # skorch's bookkeeping
            continue
        if name == "augment_padding":  # only read with augmentation on
            changed = small(augment=True, augment_padding=2)
            assert pack_key(changed) != pack_key(small(augment=True)), name
            continue
        assert name in _OTHER_VALUES, f"no test value for the new parameter {name!r}"
        changed = clone(base).set_params(**{name: _OTHER_VALUES[name]})
        key = pack_key(changed)
        assert key is None or key != pack_key(base), name


def test_fit_many_packs_what_it_can_and_fits_the_rest_alone(digits):
    X, X_test, y, _ = digits
    estimators = [
        small(random_state=0),
        small(random_state=1, dropout=0.3),
        LabelNoise(small(random_state=2), p=0.5, random_state=0),
        KernelInterpolator(device="cpu"),
    ]
    alone = [clone(e).fit(X, y) for e in estimators]
    fitted = fit_many(estimators, X, y)
    assert fitted == estimators
    assert_same_network(fitted[0], alone[0], X_test)
    assert_same_network(fitted[1], alone[1], X_test, atol=0)  # fitted alone: identical
    assert_same_network(fitted[2].estimator_, alone[2].estimator_, X_test)
    np.testing.assert_array_equal(fitted[3].predict(X_test), alone[3].predict(X_test))


# ------------------------------------------------------------------ memory and shapes
def test_memory_guard_splits_the_pack_and_logs_why(digits, caplog):
    X, X_test, y, _ = digits
    nets = [small(random_state=s) for s in range(3)]
    alone = [clone(n).fit(X, y) for n in nets]
    with caplog.at_level(logging.INFO, logger="sklearn_gen.networks._stacked"):
        fit_pack(nets, X, y, memory_budget=1)
    assert "split into 3 packs" in caplog.text and "budget" in caplog.text
    for packed, single in zip(nets, alone, strict=True):
        assert_same_network(packed, single, X_test)


def test_max_pack_size_and_members_with_fewer_classes(digits, caplog):
    X, X_test, y, _ = digits
    y_binary = (y > 4).astype(int)  # a 2-class member: other output layer, other pack
    nets = [small(random_state=s) for s in range(3)]
    ys = [y, y_binary, y]
    alone = [clone(n).fit(X, y_k) for n, y_k in zip(nets, ys, strict=True)]
    with caplog.at_level(logging.INFO, logger="sklearn_gen.networks._stacked"):
        fit_pack(nets, X, ys, max_pack_size=1)
    assert "parameter shapes" in caplog.text
    for packed, single in zip(nets, alone, strict=True):
        assert_same_network(packed, single, X_test)


# ------------------------------------------------------------------ bad inputs
def test_bad_inputs_raise_before_any_training(digits):
    X, _, y, _ = digits
    with pytest.raises(ValueError, match="estimators is empty"):
        fit_pack([], X, y)
    net = small()
    with pytest.raises(ValueError, match="estimators 0 and 2 are the same object"):
        fit_pack([net, small(), net], X, y)
    with pytest.raises(ValueError, match="estimator 1 cannot be trained in a pack: dropout"):
        fit_pack([small(), small(dropout=0.5)], X, y)
    with pytest.raises(ValueError, match="estimator 1 differs from estimator 0 in batch_size"):
        fit_pack([small(), small(batch_size=16)], X, y)
    # the criterion is shared by a pack: a mixed-loss pack would train one member with the
    # other's criterion (a silent wrong answer), so it is refused, naming the parameter
    with pytest.raises(ValueError, match="estimator 1 differs from estimator 0 in criterion"):
        fit_pack([small(criterion="bce"), small(criterion="ce")], X, y)
    with pytest.raises(ValueError, match="one label vector per estimator: got 3 for 2"):
        fit_pack([small(), small()], X, [y, y, y])
    with pytest.raises(TypeError, match="ys must be a list of label vectors"):
        fit_pack([small(), small()], X, "labels")
    with pytest.raises(ValueError, match="max_pack_size must be a positive int"):
        fit_pack([small(), small()], X, y, max_pack_size=0)
    with pytest.raises(ValueError, match="one key per estimator"):
        group_packs([small(), small()], data_keys=[0])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        fit_pack([small(), small()], X, y[:-1])
    with pytest.raises(ValueError, match="lr must be in"):
        fit_pack([small(), small(lr=-1.0)], X, y)
    net = small()
    with pytest.raises(ValueError, match="at least 2 classes"):
        fit_pack([net, small()], X, [y, np.zeros(len(y))])
    assert not hasattr(net, "module_")  # every member is checked before any is built


def test_public_names_are_exported():
    # the top level has what a user calls; the pack plumbing stays in sklearn_gen.networks
    for name in ("fit_pack", "fit_many"):
        assert getattr(sklearn_gen, name) is getattr(sklearn_gen.networks, name)
        assert name in sklearn_gen.__all__
    for name in ("group_packs", "pack_key", "pack_refusal"):
        assert name in sklearn_gen.networks.__all__
        assert name not in sklearn_gen.__all__ and not hasattr(sklearn_gen, name)


def test_random_pretraining_is_not_packed_as_label_noise():
    # RandomPretraining subclasses LabelNoise but fits in two phases: a pack must refuse it
    from sklearn_gen import RandomPretraining

    member = RandomPretraining(NetworkClassifier("mlp"), p=1.0, pretrain_epochs=2)
    assert pack_refusal(member) is not None
    assert pack_key(member) is None

"""NetworkClassifier: a skorch NeuralNetClassifier set up for generalization experiments."""

from __future__ import annotations

import contextlib
import inspect
import numbers
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNetClassifier
from skorch.callbacks import EpochTimer, LRScheduler, PassthroughScoring, PrintLog
from skorch.utils import TeeGenerator

from sklearn_gen._device import available_memory, format_bytes, resolve_device
from sklearn_gen._validation import (
    NO_VALIDATION,
    Bool,
    Custom,
    Int,
    InvalidParameterError,
    Options,
    Real,
    Seed,
    check_params,
    draw_seed,
)
from sklearn_gen.networks._batches import DeviceTensorDataset, SliceBatches, crop_flip_augmenter
from sklearn_gen.networks._callbacks import (
    BatchAccuracy,
    RecordInitialParams,
    StoppingRules,
    finalize_fit,
)
from sklearn_gen.networks._losses import CRITERIA, OneHotBCEWithLogitsLoss, check_criterion
from sklearn_gen.networks.architectures import get_architecture

__all__ = ["NetworkClassifier"]

#: precision -> the dtype training steps autocast to (None: no autocast).
_AUTOCAST_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
#: Values of ``NetworkClassifier(init=...)``.
_INITS = ("default", "xavier", "xavier_normal")


#: skorch's own parameters: skorch validates them (or they take any value).
_SKORCH_PARAMETERS = (
    "callbacks",
    "classes",
    "compile",
    "dataset",
    "device",
    "iterator_train",
    "iterator_valid",
    "predict_nonlinearity",
    "torch_load_kwargs",
    "train_split",
    "use_caching",
    "verbose",
    "warm_start",
)


def _check_module(value: Any, name: str) -> None:
    if isinstance(value, str):
        try:
            get_architecture(value)
        except ValueError as error:
            raise InvalidParameterError(f"{name}: {error}") from None
    elif not (isinstance(value, torch.nn.Module) or callable(value)):
        raise InvalidParameterError(
            f"{name} must be an architecture name, a torch.nn.Module class or instance, "
            f"got {value!r}."
        )


def _check_shape(value: Any, name: str) -> None:
    if not isinstance(value, (tuple, list)) or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0 for s in value
    ):
        raise InvalidParameterError(
            f"{name} must be a tuple of positive integers such as (C, H, W), got {value!r}."
        )


def _check_batch_size(value: Any, name: str) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or (value < 1 and value != -1)
    ):
        raise InvalidParameterError(f"{name} must be a positive integer or -1, got {value!r}.")


class NetworkClassifier(NeuralNetClassifier):
    """A skorch network classifier preconfigured for generalization experiments.

    The module outputs logits and is trained with ``CrossEntropyLoss`` (or, with
    ``criterion="bce"``, the sigmoid one-vs-all cross-entropy of Nagarajan & Kolter) by SGD with
    momentum; ``train_split=None`` (cross-validation folds own the split; pass a skorch
    ``ValidSplit`` for an internal one); data is converted to tensors once per ``fit``,
    kept on the device and cut into batches by index (no per-item ``Dataset`` access).
    Everything random - initialization, shuffling, dropout, augmentation - is drawn
    from ``random_state``, so two fits with the same integer give identical weights on
    the CPU; the global torch random state is left as it was.

    Parameters
    ----------
    module : str or type of torch.nn.Module, default="mlp"
        An architecture name from :data:`sklearn_gen.networks.architectures.ARCHITECTURES`
        ("mlp", "deep_fc", "small_alexnet", "small_inception", "convnet") or any module
        class. ``input_shape`` and ``n_classes`` are passed to it when its constructor
        takes them; other constructor arguments go through ``module__name=value``.
    input_shape : tuple of int or None, default=None
        ``(C, H, W)``: flat rows of ``X`` are reshaped to images of this shape (channels
        first). ``None`` keeps ``X`` flat, which suits fully connected modules.
    criterion : {"ce", "bce"}, type of torch.nn.Module or torch.nn.Module, default="ce"
        The training loss on the logits (skorch's ``criterion``, the package's one name for
        it). ``"ce"``: softmax cross-entropy (:class:`torch.nn.CrossEntropyLoss`).
        ``"bce"``: the sigmoid (one-vs-all) cross-entropy of the logits against one-hot
        targets, averaged over the ``n_samples * n_classes`` entries, as Nagarajan & Kolter
        (2019)'s code does (TensorFlow's ``sigmoid_cross_entropy_with_logits``;
        :class:`OneHotBCEWithLogitsLoss`). Or any torch loss class (its arguments through
        ``criterion__name=value``) or instance; ``NLLLoss`` is refused: on logits it trains
        nothing. Either way ``predict`` is the argmax of the logits, and the stopping
        rules' ``train_loss_full`` (and ``stop_train_loss``) are this loss.
    optimizer : type of torch.optim.Optimizer, default=torch.optim.SGD
    lr : float, default=0.01
    momentum : float, default=0.9
        Passed to the optimizer when it takes a ``momentum`` argument.
    weight_decay : float, default=0.0
        L2 penalty passed to the optimizer (Zhang et al.'s explicit regularizer).
    max_epochs : int, default=10
        Upper limit on the epochs; the stopping rules may end training earlier.
    batch_size : int, default=128
    dropout : float, default=0.0
        Dropout probability, passed to architectures that take ``dropout``.
    batch_norm : bool or None, default=None
        Batch-norm switch, passed to architectures that take ``batch_norm``; ``None``
        keeps the architecture's own default (on for SmallInception, off elsewhere).
    augment : bool, default=False
        Random crop after ``augment_padding`` zero padding plus random horizontal flip,
        applied per batch on the device; needs ``input_shape``.
    augment_padding : int, default=4
    init : {"default", "xavier", "xavier_normal"}, default="default"
        Initialization of the module's weight tensors (``ndim >= 2``: linear and
        convolution weights). ``"default"`` keeps each torch layer's own initialization;
        ``"xavier"`` draws them from Glorot & Bengio's uniform distribution
        (:func:`torch.nn.init.xavier_uniform_`, TensorFlow's ``xavier_initializer()``, which
        Nagarajan & Kolter use) and ``"xavier_normal"`` from the normal one; with either,
        the biases of those layers start at zero. Batch-norm parameters are not touched.
    init_scale : float, default=1.0
        Multiplies every weight tensor (``ndim >= 2``) of the freshly initialized module
        (Liao et al. 2018's larger-initialization experiment), after ``init``; biases and
        batch-norm parameters keep their defaults.
    lr_decay : float or None, default=None
        Multiply the learning rate by this factor after every epoch (Zhang et al.: 0.95).
    precision : {"fp32", "bf16", "fp16"}, default="fp32"
        Arithmetic of the training steps: ``"bf16"``/``"fp16"`` run forward and loss under
        :func:`torch.autocast` (``"fp16"`` with a :class:`torch.amp.GradScaler`), the usual
        mixed precision on GPUs; weights, optimizer state and every evaluation (predict,
        stopping rules, measures) stay float32. Off (``"fp32"``) by default, on every
        device, so results do not depend on the hardware.
    channels_last : bool, default=False
        Keep the module's 4-D weights and the image batches in channels-last memory format
        (faster convolutions on recent GPUs); needs ``input_shape=(C, H, W)``.
    stop_on_interpolation : bool, default=False
        Stop once training accuracy is 1.0.
    stop_margin : float or None, default=None
        Stop once at least a fraction ``stop_margin_fraction`` of the training points has
        margin ``f_y(x) - max_{k != y} f_k(x) >= stop_margin`` (Nagarajan & Kolter 2019: 10
        on 99% of the points for MNIST, 8 on 99% for the hyperspheres). The margins are
        computed at the end of every epoch over the whole training set, network in eval
        mode.
    stop_margin_fraction : float, default=1.0
        The fraction in ``(0, 1]`` of the training points that must reach the margin
        (``0.99`` for Nagarajan & Kolter); ``1.0`` asks every point to. (Not a quantile
        level: the recorded ``margin_quantile`` is the ``1 - stop_margin_fraction``
        quantile.)
    stop_train_loss : float or None, default=None
        Stop once the training loss (``criterion``) is at most this value (Liao et al.
        2018).
    stop_mode : {"all", "any"}, default="all"
        With several rules: stop when all hold, or when any holds.
    train_split : callable or None, default=None
    callbacks : list or None, default=None
    device : {"auto", "cpu", "cuda"}, default="auto"
        "auto" uses CUDA when it is available.
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
    **kwargs
        Any other skorch argument (``module__...``, ``optimizer__...``, ``iterator_...``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    module_ : torch.nn.Module
        The trained network.
    initial_params_ : dict of str to torch.Tensor
        CPU copy of the parameters right after initialization (after ``init_scale``),
        recorded when training starts by the default callback ``initial_params``
        (:class:`~sklearn_gen.networks.RecordInitialParams`); ``partial_fit`` keeps it.
    device_ : torch.device
        The device that was used.
    n_epochs_ : int
        Epochs trained (over every ``fit``/``partial_fit`` since the last initialization).
    n_steps_ : int
        Optimizer steps (mini-batches) taken in those epochs.
    converged_ : bool
        Whether the enabled stopping rules were met before ``max_epochs`` ran out
        (``True`` when no rule is enabled).
    history_ : skorch.history.History
        Per epoch: ``train_loss``, ``train_acc`` (running, over the batches), and with a
        stopping rule the exact ``train_loss_full``, ``train_acc_full``, ``margin_quantile``
        (and ``margin_fraction``, the fraction of points at margin ``>= stop_margin``).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_gen import NetworkClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> net = NetworkClassifier("mlp", module__hidden=(64,), lr=0.05, max_epochs=5,
    ...                         random_state=0).fit(X / 16, y)
    >>> net.score(X / 16, y) > 0.9
    True

    Nagarajan & Kolter's recipe (a bias-free ReLU network with Xavier initialization,
    sigmoid cross-entropy, plain SGD with batch 64, until 99% of the training points have
    margin 10), scaled down here to margin 2 on 90% of 500 digits:

    >>> nk = NetworkClassifier("mlp", module__hidden=(64,), module__bias=False,
    ...                        init="xavier", criterion="bce", lr=1.0, momentum=0.0,
    ...                        batch_size=64, stop_margin=2.0, stop_margin_fraction=0.9,
    ...                        max_epochs=100, random_state=0).fit(X[:500] / 16, y[:500])
    >>> nk.converged_, nk.history[-1, "margin_fraction"] >= 0.9
    (True, True)
    """

    def __init__(
        self,
        module: str | type[torch.nn.Module] = "mlp",
        *,
        input_shape: tuple[int, ...] | None = None,
        criterion: str | type[torch.nn.Module] | torch.nn.Module = "ce",
        optimizer: type[torch.optim.Optimizer] = torch.optim.SGD,
        lr: float = 0.01,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        max_epochs: int = 10,
        batch_size: int = 128,
        dropout: float = 0.0,
        batch_norm: bool | None = None,
        augment: bool = False,
        augment_padding: int = 4,
        init: str = "default",
        init_scale: float = 1.0,
        lr_decay: float | None = None,
        precision: str = "fp32",
        channels_last: bool = False,
        stop_on_interpolation: bool = False,
        stop_margin: float | None = None,
        stop_margin_fraction: float = 1.0,
        stop_train_loss: float | None = None,
        stop_mode: str = "all",
        train_split: Any = None,
        callbacks: list | None = None,
        device: str = "auto",
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            callbacks=callbacks,
            device=device,
            verbose=verbose,
            **kwargs,
        )
        self.input_shape = input_shape
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.augment = augment
        self.augment_padding = augment_padding
        self.init = init
        self.init_scale = init_scale
        self.lr_decay = lr_decay
        self.precision = precision
        self.channels_last = channels_last
        self.stop_on_interpolation = stop_on_interpolation
        self.stop_margin = stop_margin
        self.stop_margin_fraction = stop_margin_fraction
        self.stop_train_loss = stop_train_loss
        self.stop_mode = stop_mode
        self.random_state = random_state

    # ------------------------------------------------------------------ validation
    #: The declared constraints of the parameters (:func:`~sklearn_gen._validation.
    #: check_params`); skorch's own parameters are left to skorch.
    _param_checks: ClassVar[dict[str, Any]] = {
        "module": Custom(_check_module, bad_value=3),
        "input_shape": Custom(_check_shape, none=True, bad_value=(3, 0)),
        "criterion": Custom(check_criterion, bad_value="cross-entropy"),
        "optimizer": NO_VALIDATION,
        "lr": Real(0.0, closed="right"),
        "momentum": Real(0.0),
        "weight_decay": Real(0.0),
        "max_epochs": Int(1),
        "batch_size": Custom(_check_batch_size, bad_value=0),
        "dropout": Real(0.0, 1.0),
        "batch_norm": Bool(none=True),
        "augment": Bool(),
        "augment_padding": Int(0),
        "init": Options(*_INITS),
        "init_scale": Real(0.0, closed="right"),
        "lr_decay": Real(0.0, closed="right", none=True),
        "precision": Options(*_AUTOCAST_DTYPES),
        "channels_last": Bool(),
        "stop_on_interpolation": Bool(),
        "stop_margin": Real(none=True),
        "stop_margin_fraction": Real(0.0, 1.0, closed="right"),
        "stop_train_loss": Real(0.0, none=True),
        "stop_mode": Options("all", "any"),
        "random_state": Seed(),
        **dict.fromkeys(_SKORCH_PARAMETERS, NO_VALIDATION),
    }

    def _check_params(self) -> None:
        """The declared constraints, then the rules that tie parameters together."""
        check_params(self)
        if self.augment and (self.input_shape is None or len(self.input_shape) != 3):
            raise ValueError("augment=True needs images: set input_shape=(C, H, W).")
        if self.channels_last and (self.input_shape is None or len(self.input_shape) != 3):
            raise ValueError("channels_last=True needs images: set input_shape=(C, H, W).")
        if (
            self.precision != "fp32"
            and isinstance(self.optimizer, type)
            and issubclass(self.optimizer, torch.optim.LBFGS)
        ):
            raise ValueError(f"precision={self.precision!r} does not work with LBFGS; use 'fp32'.")

    def _check_input_shape(self, n_features: int) -> tuple[int, ...]:
        if self.input_shape is None:
            return (n_features,)
        shape = tuple(int(s) for s in self.input_shape)
        if int(np.prod(shape)) != n_features:
            raise ValueError(
                f"input_shape={shape} holds {int(np.prod(shape))} values per sample but X has "
                f"{n_features} features."
            )
        return shape

    # ------------------------------------------------------------------ devices, seeds
    @contextlib.contextmanager
    def _on_device(self) -> Iterator[None]:
        """Let skorch see the resolved device while it works; keep the parameter as set."""
        requested = self.device
        self.device = self.device_
        try:
            yield
        finally:
            self.device = requested

    @contextlib.contextmanager
    def _seeded(self, seed: int) -> Iterator[None]:
        """Seed init/dropout (global torch RNG, restored afterwards) and the batch order."""
        devices = []
        if self.device_.type == "cuda":
            index = self.device_.index
            devices = [torch.cuda.current_device() if index is None else index]
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            self.batch_generator_ = torch.Generator(device=self.device_)
            self.batch_generator_.manual_seed(seed + 1)
            try:
                yield
            finally:
                del self.batch_generator_  # generators do not pickle; only needed in fit

    def _draw_seed(self) -> int:
        """The fit's seed: one draw from ``random_state`` (an int seeds a RandomState)."""
        return draw_seed(check_random_state(self.random_state))

    # ------------------------------------------------------------------ skorch hooks
    def _stopping_params(self) -> dict[str, Any]:
        return {
            "interpolate": self.stop_on_interpolation,
            "margin": self.stop_margin,
            "margin_fraction": self.stop_margin_fraction,
            "train_loss": self.stop_train_loss,
            "mode": self.stop_mode,
        }

    def get_params(self, deep: bool = True, **kwargs: Any) -> dict[str, Any]:
        """Get the parameters, as skorch lists them, without skorch's private bookkeeping.

        skorch lists every attribute that does not end in ``_``, its own private
        ``_params_to_validate`` (set in ``__init__`` from the ``module__...`` arguments)
        among them; a private name is not a parameter a user sets, so it is left out here
        (``clone`` rebuilds it from the arguments it passes).

        Examples
        --------
        >>> net = NetworkClassifier(module__hidden=(16,))
        >>> [name for name in net.get_params() if name.startswith("_")]
        []
        >>> from sklearn.base import clone
        >>> clone(net).get_params()["module__hidden"]
        (16,)
        """
        params = super().get_params(deep=deep, **kwargs)
        return {key: value for key, value in params.items() if not key.startswith("_")}

    def get_default_callbacks(self) -> list:
        """Return the callbacks every fit runs (skorch's hook; the user's ``callbacks`` follow).

        ``train_loss`` / ``valid_loss`` (skorch's size-weighted epoch means of the batch
        losses), ``initial_params`` (:class:`RecordInitialParams`: ``initial_params_``),
        ``epoch_timer``, ``accuracy`` (:class:`BatchAccuracy`), ``stopping``
        (:class:`StoppingRules`), ``lr_decay`` with ``lr_decay``, ``print_log`` with
        ``verbose``.

        Returns
        -------
        list of (str, skorch.callbacks.Callback)
        """
        callbacks = [
            ("train_loss", PassthroughScoring("train_loss", lower_is_better=None, on_train=True)),
            ("valid_loss", PassthroughScoring("valid_loss", lower_is_better=None)),
            ("initial_params", RecordInitialParams()),
            ("epoch_timer", EpochTimer()),
            ("accuracy", BatchAccuracy()),
            ("stopping", StoppingRules(**self._stopping_params())),
        ]
        if self.lr_decay is not None:
            callbacks.append(
                (
                    "lr_decay",
                    LRScheduler(
                        policy=torch.optim.lr_scheduler.ExponentialLR,
                        gamma=self.lr_decay,
                        step_every="epoch",
                    ),
                )
            )
        if self.verbose:
            callbacks.append(("print_log", PrintLog()))
        return callbacks

    def initialize_module(self) -> NetworkClassifier:
        """Build the module (architecture name or class) and scale its initialization.

        Its initial weights are kept by the ``initial_params`` callback
        (:class:`RecordInitialParams`) when training starts.
        """
        cls = get_architecture(self.module) if isinstance(self.module, str) else self.module
        kwargs = self.get_params_for("module")
        if isinstance(cls, torch.nn.Module):
            module = type(cls)(**kwargs) if kwargs else cls
        else:
            accepted = _init_arguments(cls)
            n_classes = len(self.classes_)
            defaults = {"input_shape": self.input_shape_, "n_classes": n_classes}
            for name, value in defaults.items():
                if name in accepted and name not in kwargs:
                    kwargs[name] = value
            switches = {"dropout": self.dropout or None, "batch_norm": self.batch_norm}
            for name, value in switches.items():
                if value is None or (name not in accepted and value is False):
                    continue
                if name not in accepted:
                    raise ValueError(
                        f"{name}={value!r} was set but the module "
                        f"{getattr(cls, '__name__', cls)!r} takes no {name!r} argument."
                    )
                kwargs.setdefault(name, value)
            module = cls(**kwargs)
        if self.init != "default":
            _xavier_init(module, normal=self.init == "xavier_normal")
        if self.init_scale != 1.0:
            with torch.no_grad():
                for param in module.parameters():
                    if param.dim() >= 2:
                        param.mul_(self.init_scale)
        self.module_ = module.to(self.device_)
        if self.channels_last:
            self.module_ = self.module_.to(memory_format=torch.channels_last)
        return self

    def initialize_criterion(self) -> NetworkClassifier:
        """Build ``criterion``: a name of ``CRITERIA``, a loss class or an instance.

        The names are those of :data:`~sklearn_gen.networks._losses.CRITERIA`.
        """
        criterion = CRITERIA.get(self.criterion, self.criterion)
        self.criterion_ = self.initialized_instance(criterion, self.get_params_for("criterion"))
        return self

    def get_params_for_optimizer(self, prefix: str, named_parameters) -> tuple[list, dict]:
        """Skorch's optimizer arguments, with ``momentum`` and ``weight_decay`` where accepted."""
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        accepted = _init_arguments(self.optimizer)
        for name in ("momentum", "weight_decay"):
            if name in accepted and f"{prefix}__{name}" not in self.__dict__:
                kwargs.setdefault(name, getattr(self, name))
        return args, kwargs

    def get_dataset(self, X: Any, y: Any = None) -> DeviceTensorDataset:
        """Tensors on the device, images reshaped to ``input_shape`` (no copy per item)."""
        if isinstance(X, DeviceTensorDataset):
            return X
        X = np.asarray(X, dtype=np.float32)
        self._check_memory(X.nbytes + (0 if y is None else 8 * len(X)))
        X_t = torch.as_tensor(X).to(self.device_)
        X_t = X_t.reshape(len(X_t), *self.input_shape_)
        if self.channels_last:
            X_t = X_t.contiguous(memory_format=torch.channels_last)
        y_t = None if y is None else torch.as_tensor(y, dtype=torch.long).to(self.device_)
        return DeviceTensorDataset(X_t, y_t)

    def _check_memory(self, needed: int) -> None:
        """Fail before allocating when the data cannot be held on the device."""
        free = available_memory(self.device_)
        if needed > 0.9 * free:
            raise ValueError(
                f"NetworkClassifier keeps the data on the device: it needs "
                f"{format_bytes(needed)} on {self.device_}, but only {format_bytes(free)} "
                "are free. Use device='cpu' (or another device), or fit on fewer samples."
            )

    def get_iterator(self, dataset, training: bool = False) -> SliceBatches:
        """Index-slice batches; shuffled (and augmented) when training."""
        prefix = "iterator_train" if training else "iterator_valid"
        batch_size = self.get_params_for(prefix).get("batch_size", self.batch_size)
        transform = None
        if training and self.augment:
            transform = crop_flip_augmenter(self.augment_padding, self.batch_generator_)
        generator = getattr(self, "batch_generator_", None)
        return SliceBatches(
            dataset, batch_size, shuffle=training, generator=generator, transform=transform
        )

    def train_step(self, batch, **fit_params: Any) -> dict:
        """Take skorch's optimizer step; with ``precision="fp16"``, the gradient scaler's.

        skorch steps the optimizer itself (``optimizer.step(closure)``), while a
        :class:`torch.amp.GradScaler` must step it (skipping steps whose gradients
        overflowed) and then update its scale; so for ``"fp16"`` the step is taken here,
        with the public pieces skorch's own step is made of.
        """
        scaler = getattr(self, "grad_scaler_", None)
        if scaler is None:
            return super().train_step(batch, **fit_params)
        self.optimizer_.zero_grad()
        step = self.train_step_single(batch, **fit_params)
        scaler.unscale_(self.optimizer_)  # callbacks see the true gradients
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(self.get_all_learnable_params()),
            batch=batch,
        )
        scaler.step(self.optimizer_)
        scaler.update()
        return step

    def train_step_single(self, batch, **fit_params: Any) -> dict:
        """Run skorch's forward, loss and backward pass on ``batch``, in train mode.

        As skorch's own, with two differences: train mode is set only when the network is
        not in it already (skorch re-sets it on every module at every step, a few percent
        of a small network's step), and with ``precision="bf16"``/``"fp16"`` the forward
        pass and the loss run under :func:`torch.autocast` (``"fp16"``: the backward pass
        of the scaled loss).
        """
        module, criterion = self.module_, self.criterion_
        if not module.training or not getattr(criterion, "training", True):
            module.train()
            criterion.train()
        Xi, yi = batch
        dtype = _AUTOCAST_DTYPES[self.precision]
        if dtype is None:
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=True)
            loss.backward()
            return {"loss": loss, "y_pred": y_pred}
        with torch.autocast(self.device_.type, dtype=dtype):
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        scaler = getattr(self, "grad_scaler_", None)
        (loss if scaler is None else scaler.scale(loss)).backward()
        return {"loss": loss.float(), "y_pred": y_pred.float()}

    def initialize_optimizer(self, *args: Any, **kwargs: Any) -> NetworkClassifier:
        """Build skorch's optimizer, plus the gradient scaler ``precision="fp16"`` needs."""
        super().initialize_optimizer(*args, **kwargs)
        if self.precision == "fp16":
            self.grad_scaler_ = torch.amp.GradScaler(self.device_.type)
        elif hasattr(self, "grad_scaler_"):
            del self.grad_scaler_
        return self

    def infer(self, x: Any, **fit_params: Any) -> torch.Tensor:
        """The module's logits for ``x`` (a device tensor batch goes straight in)."""
        if isinstance(x, torch.Tensor):  # batches are already tensors on the device
            return self.module_(x, **fit_params)
        return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, *args: Any, **kwargs: Any) -> torch.Tensor:
        """The criterion's loss of ``y_pred`` against ``y_true``."""
        if isinstance(y_true, torch.Tensor):
            return self.criterion_(y_pred, y_true)
        return super().get_loss(y_pred, y_true, *args, **kwargs)

    def check_data(self, X: Any, y: Any) -> None:
        """Inputs are validated in :meth:`fit`; skorch's own class inference is not used."""

    # ------------------------------------------------------------------ sklearn API
    @property
    def classes_(self) -> np.ndarray:
        return self.classes_inferred_

    def _prepare_fit(
        self, X: Any, y: Any, reset: bool, classes: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float32, reset=reset, y_numeric=False)
        check_classification_targets(y)
        if reset:
            if classes is None:
                classes = self.classes
            classes = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if len(classes) < 2:
                raise ValueError(
                    f"NetworkClassifier needs at least 2 classes in y, got {len(classes)} class."
                )
            self.classes_inferred_ = classes
            self.input_shape_ = self._check_input_shape(X.shape[1])
            self.device_ = resolve_device(self.device)
        unknown = ~np.isin(y, self.classes_)
        if unknown.any():
            raise ValueError(
                f"y contains labels not seen in the first fit: {np.unique(y[unknown])[:5]}."
            )
        return X, np.searchsorted(self.classes_, y)

    def fit(self, X: Any, y: Any, **fit_params: Any) -> NetworkClassifier:
        """Initialize the network and train it on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Any hashable labels.
        **fit_params
            Passed to the module's ``forward``.

        Returns
        -------
        self
        """
        reset = not (self.warm_start and getattr(self, "initialized_", False))
        X, y_enc = self._prepare_fit(X, y, reset=reset)
        with self._seeded(self._draw_seed()), self._on_device():
            if reset:
                self.initialize()
            self._train(X, y_enc, **fit_params)
        return self

    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, **fit_params: Any
    ) -> NetworkClassifier:
        """Continue training the same weights on ``(X, y)`` for ``max_epochs`` epochs.

        Initializes the network first when it is not yet fitted. The labels must be among
        the classes of the first fit (or ``classes``).

        Returns
        -------
        self
        """
        fitted = getattr(self, "initialized_", False)
        X, y_enc = self._prepare_fit(X, y, reset=not fitted, classes=classes)
        seed = self._draw_seed() + (self.n_epochs_ if fitted else 0)
        with self._seeded(seed), self._on_device():
            if not fitted:
                self.initialize()
            self._train(X, y_enc, **fit_params)
        return self

    def _train(self, X: np.ndarray, y_enc: np.ndarray, **fit_params: Any) -> None:
        dataset = self.get_dataset(X, y_enc)
        rules = dict(self.callbacks_)["stopping"]
        rules.set_params(**self._stopping_params())  # follow set_params between partial_fits
        super().partial_fit(dataset, y_enc, **fit_params)
        finalize_fit(self, rules)

    def forward_iter(self, X: Any, training: bool = False, device: str = "cpu"):
        """Yield the module's outputs batch by batch (a fitted net only).

        Yields
        ------
        torch.Tensor
            The outputs of one batch of ``X``, as skorch's ``forward_iter`` gives them.
        """
        check_is_fitted(self, "module_")
        with self._on_device():
            yield from super().forward_iter(X, training=training, device=device)

    def _validated_X(self, X: Any) -> DeviceTensorDataset:
        check_is_fitted(self, "module_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        return self.get_dataset(X)

    def logits(self, X: Any) -> np.ndarray:
        """The network's outputs ``f(x)``, one column per class of ``classes_``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        dataset = self._validated_X(X)
        return self.forward(dataset).numpy()

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits, in sklearn's layout: ``f_1 - f_0`` for two classes, else all of them.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        logits = self.logits(X)
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities: softmax of the logits, or normalized sigmoids for ``"bce"``.

        The rows are ``softmax(f(x))``. With ``criterion="bce"`` each output
        was trained as a one-vs-all probability ``sigmoid(f_k(x))``; the rows are those
        sigmoids divided by their sum (computed as ``softmax(log sigmoid(f(x)))``, stable
        for very negative logits). Both are increasing in each logit, so the argmax of a row
        is :meth:`predict`'s class.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        logits = torch.as_tensor(self.logits(X)).double()
        if isinstance(self.criterion_, OneHotBCEWithLogitsLoss):
            logits = torch.nn.functional.logsigmoid(logits)
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, X: Any) -> np.ndarray:
        """Class labels (from ``classes_``) of the largest logit.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        best = self.logits(X).argmax(axis=1)
        return self.classes_[best]

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        # skorch maps the weights with state["device"], which must name a real device
        state["_requested_device"] = state["device"]
        state["device"] = str(state.get("device_", "cpu"))
        return state

    def __setstate__(self, state: dict) -> None:
        requested = state.pop("_requested_device", state["device"])
        fitted = "device_" in state
        super().__setstate__(state)
        if fitted:  # where the weights now live (CPU when CUDA is absent here)
            self.device_ = torch.device(self.device)
        self.device = requested

    def __sklearn_is_fitted__(self) -> bool:
        """Fitted once the network is built (scikit-learn's ``check_is_fitted`` asks this).

        skorch answers it itself from 1.3 on; before, scikit-learn would count the
        attributes skorch sets in ``__init__`` (``history_``, ``initialized_``) as fitted.
        """
        return hasattr(self, "module_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


def _xavier_init(module: torch.nn.Module, *, normal: bool) -> None:
    """Glorot (Xavier) weights and zero biases for every layer with a >= 2-D ``weight``."""
    fill = torch.nn.init.xavier_normal_ if normal else torch.nn.init.xavier_uniform_
    with torch.no_grad():
        for layer in module.modules():
            weight = getattr(layer, "weight", None)
            if isinstance(weight, torch.nn.Parameter) and weight.dim() >= 2:
                fill(weight)
                bias = getattr(layer, "bias", None)
                if isinstance(bias, torch.nn.Parameter):
                    bias.zero_()


def _init_arguments(cls: Any) -> set[str]:
    """Names a class's constructor accepts (all names when it takes ``**kwargs``)."""
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return set()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return {p.name for p in params} | {"input_shape", "n_classes", "dropout", "batch_norm"}
    return {p.name for p in params}

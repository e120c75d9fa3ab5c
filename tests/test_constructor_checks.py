"""Every layer, loss, optimizer and scheduler constructor refuses a bad argument, naming it and the value.

Table-driven: each row is (constructor path, args, kwargs, the word the message must hold). redes raises
ValueError, TypeError or RuntimeError for every row, naming the argument. Where torch raises at construction,
with a ValueError, TypeError or IndexError, redes raises the same class; most rows torch only refuses later,
at forward or step (Conv2d(3, 4, 0), a negative pool padding, reduction='avg', StepLR(step_size=0)), or
never: those values give a silently wrong result there, and redes refuses them up front."""
import re
import warnings

import pytest

import redes as rd

torch = pytest.importorskip("torch")

# (path under rd / torch, args, kwargs, argument named in the message)
LAYERS = [
    ("nn.Conv2d", (3, 4, 0), {}, "kernel_size"),
    ("nn.Conv2d", (3, 4, -1), {}, "kernel_size"),
    ("nn.Conv2d", (3, 4, 3), dict(stride=0), "stride"),
    ("nn.Conv2d", (3, 4, 3), dict(stride=-2), "stride"),
    ("nn.Conv2d", (3, 4, 3), dict(padding=-1), "padding"),
    ("nn.Conv2d", (3, 4, 3), dict(dilation=0), "dilation"),
    ("nn.Conv2d", (3, 4, 3), dict(groups=0), "groups"),
    ("nn.Conv2d", (3, 4, 3), dict(groups=2), "groups"),
    ("nn.Conv2d", (0, 4, 3), {}, "in_channels"),
    ("nn.Conv2d", (3, 4, (3, 3, 3)), {}, "kernel_size"),
    ("nn.Conv2d", (3, 4, 3), dict(padding="full"), "padding"),
    ("nn.Conv2d", (3, 4, 3), dict(padding="same", stride=2), "padding"),
    ("nn.Conv2d", (3, 4, 3), dict(padding_mode="mirror"), "padding_mode"),
    ("nn.Conv1d", (3, 4, 0), {}, "kernel_size"),
    ("nn.Conv1d", (3, 4, 2), dict(stride=0), "stride"),
    ("nn.Conv1d", (3, 4, 2), dict(dilation=-1), "dilation"),
    ("nn.ConvTranspose2d", (3, 4, 0), {}, "kernel_size"),
    ("nn.ConvTranspose2d", (3, 4, 3), dict(stride=0), "stride"),
    ("nn.ConvTranspose2d", (3, 4, 3), dict(output_padding=-1), "output_padding"),
    ("nn.ConvTranspose2d", (3, 4, 3), dict(output_padding=2, stride=2), "output_padding"),
    ("nn.ConvTranspose1d", (3, 4, 3), dict(output_padding=1), "output_padding"),
    ("nn.ConvTranspose1d", (3, 4, 3), dict(padding=-1), "padding"),
    ("nn.Linear", (3, -1), {}, "out_features"),
    ("nn.Bilinear", (3, -2, 4), {}, "in2_features"),
    ("nn.Embedding", (-1, 3), {}, "num_embeddings"),
    ("nn.Embedding", (10, 3), dict(padding_idx=10), "padding_idx"),
    ("nn.Embedding", (10, 3), dict(padding_idx=-11), "padding_idx"),
    ("nn.Dropout", (), dict(p=1.5), "p"),
    ("nn.Dropout", (), dict(p=-0.1), "p"),
    ("nn.Dropout1d", (), dict(p=2), "p"),
    ("nn.Dropout2d", (), dict(p=-1), "p"),
    ("nn.BatchNorm1d", (0,), {}, "num_features"),
    ("nn.BatchNorm1d", (-3,), {}, "num_features"),
    ("nn.BatchNorm2d", (4,), dict(eps=0), "eps"),
    ("nn.BatchNorm2d", (4,), dict(eps=-1e-5), "eps"),
    ("nn.BatchNorm2d", (4,), dict(momentum=-0.1), "momentum"),
    ("nn.BatchNorm2d", (4,), dict(momentum=1.5), "momentum"),
    ("nn.LayerNorm", (4,), dict(eps=-1.0), "eps"),
    ("nn.LayerNorm", ((4, -2),), {}, "normalized_shape"),
    ("nn.GroupNorm", (3, 4), {}, "num_groups"),
    ("nn.GroupNorm", (0, 4), {}, "num_groups"),
    ("nn.GroupNorm", (2, 4), dict(eps=-1.0), "eps"),
    ("nn.MaxPool2d", (0,), {}, "kernel_size"),
    ("nn.MaxPool2d", (2,), dict(stride=0), "stride"),
    ("nn.MaxPool2d", (2,), dict(padding=2), "pad"),
    ("nn.MaxPool2d", (2,), dict(padding=-1), "padding"),
    ("nn.MaxPool2d", (2,), dict(dilation=0), "dilation"),
    ("nn.MaxPool1d", (-1,), {}, "kernel_size"),
    ("nn.MaxPool1d", (3,), dict(padding=2), "pad"),
    ("nn.AvgPool2d", (0,), {}, "kernel_size"),
    ("nn.AvgPool2d", (2,), dict(stride=0), "stride"),
    ("nn.AvgPool2d", (2,), dict(padding=2), "pad"),
    ("nn.AvgPool2d", (2,), dict(divisor_override=0), "divisor_override"),
    ("nn.AvgPool1d", (0,), {}, "kernel_size"),
    ("nn.AvgPool1d", (2,), dict(padding=-1), "padding"),
    ("nn.AdaptiveAvgPool2d", (-1,), {}, "output_size"),
    ("nn.AdaptiveMaxPool1d", (-2,), {}, "output_size"),
    ("nn.LeakyReLU", (), dict(negative_slope="a"), "negative_slope"),
    ("nn.Softplus", (), dict(beta=0), "beta"),
    ("nn.GELU", (), dict(approximate="fast"), "approximate"),
    ("nn.Hardtanh", (1.0, -1.0), {}, "max_val"),
    ("nn.PReLU", (0,), {}, "num_parameters"),
    ("nn.Flatten", (), dict(start_dim="a"), "start_dim"),
    ("nn.RNN", (3, 0), {}, "hidden_size"),
    ("nn.RNN", (3, 4), dict(num_layers=0), "num_layers"),
    ("nn.RNN", (3, 4), dict(nonlinearity="sigmoid"), "nonlinearity"),
    ("nn.LSTM", (3, 4), dict(dropout=1.5), "dropout"),
    ("nn.LSTM", (3, 4), dict(proj_size=-1), "proj_size"),
    ("nn.LSTM", (3, 4), dict(proj_size=4), "proj_size"),
    ("nn.GRU", (-3, 4), {}, "input_size"),
    ("nn.GRU", (3, 4), dict(dropout=-0.5), "dropout"),
    ("nn.RNNCell", (3, 0), {}, "hidden_size"),
    ("nn.LSTMCell", (0, 3), {}, "input_size"),
    ("nn.GRUCell", (3, -4), {}, "hidden_size"),
    ("nn.RNNCell", (3, 4), dict(nonlinearity="gelu"), "nonlinearity"),
    ("nn.MultiheadAttention", (8, 3), {}, "num_heads"),
    ("nn.MultiheadAttention", (8, 0), {}, "num_heads"),
    ("nn.MultiheadAttention", (0, 1), {}, "embed_dim"),
    ("nn.MultiheadAttention", (8, 2), dict(dropout=1.5), "dropout"),
    ("nn.TransformerEncoderLayer", (8, 3), {}, "nhead"),
    ("nn.TransformerEncoderLayer", (8, 2), dict(dropout=-0.1), "dropout"),
    ("nn.TransformerEncoderLayer", (8, 2), dict(activation="swish"), "activation"),
    ("nn.TransformerDecoderLayer", (8, 3), {}, "nhead"),
    ("nn.Transformer", (), dict(d_model=8, nhead=3), "nhead"),
    ("nn.MSELoss", (), dict(reduction="avg"), "reduction"),
    ("nn.L1Loss", (), dict(reduction="batchmean"), "reduction"),
    ("nn.CrossEntropyLoss", (), dict(reduction="max"), "reduction"),
    ("nn.CrossEntropyLoss", (), dict(label_smoothing=1.5), "label_smoothing"),
    ("nn.CrossEntropyLoss", (), dict(label_smoothing=-0.1), "label_smoothing"),
    ("nn.NLLLoss", (), dict(reduction="total"), "reduction"),
    ("nn.BCELoss", (), dict(reduction=""), "reduction"),
    ("nn.BCEWithLogitsLoss", (), dict(reduction="mean "), "reduction"),
    ("nn.SmoothL1Loss", (), dict(beta=-1.0), "beta"),
    ("nn.HuberLoss", (), dict(delta=0.0), "delta"),
    ("nn.HuberLoss", (), dict(delta=-1.0), "delta"),
    ("nn.KLDivLoss", (), dict(reduction="avg"), "reduction"),
    ("nn.CosineEmbeddingLoss", (), dict(reduction="avg"), "reduction"),
    ("nn.MarginRankingLoss", (), dict(reduction="avg"), "reduction"),
]

OPTIMIZERS = [
    ("SGD", dict(lr=-0.1), "lr"), ("SGD", dict(lr=0.1, momentum=-0.5), "momentum"),
    ("SGD", dict(lr=0.1, weight_decay=-1e-4), "weight_decay"), ("SGD", dict(lr=0.1, nesterov=True), "momentum"),
    ("Adam", dict(lr=-1e-3), "lr"), ("Adam", dict(betas=(1.0, 0.999)), "beta"), ("Adam", dict(betas=(0.9, -0.1)), "beta"),
    ("Adam", dict(eps=-1e-8), "eps"), ("Adam", dict(weight_decay=-0.1), "weight_decay"),
    ("Adam", dict(betas=(0.9,)), "betas"),
    ("AdamW", dict(lr=-1.0), "lr"), ("AdamW", dict(betas=(0.9, 1.0)), "beta"), ("AdamW", dict(weight_decay=-1.0), "weight_decay"),
    ("AdamW", dict(eps=-1.0), "eps"),
    ("RMSprop", dict(lr=-0.01), "lr"), ("RMSprop", dict(alpha=-0.5), "alpha"), ("RMSprop", dict(eps=-1e-8), "eps"),
    ("RMSprop", dict(momentum=-0.9), "momentum"), ("RMSprop", dict(weight_decay=-1.0), "weight_decay"),
    ("Adagrad", dict(lr=-0.1), "lr"), ("Adagrad", dict(lr_decay=-0.1), "lr_decay"), ("Adagrad", dict(eps=-1.0), "eps"),
    ("Adagrad", dict(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    ("Adagrad", dict(weight_decay=-1.0), "weight_decay"),
]

SCHEDULERS = [
    ("StepLR", dict(step_size=0), "step_size"), ("StepLR", dict(step_size=-2), "step_size"),
    ("StepLR", dict(step_size=2.5), "step_size"),
    ("MultiStepLR", dict(milestones=[5, 3]), "milestones"), ("MultiStepLR", dict(milestones=[2, -1]), "milestone"),
    ("ConstantLR", dict(factor=1.5), "factor"), ("ConstantLR", dict(factor=-0.1), "factor"),
    ("ConstantLR", dict(total_iters=-1), "total_iters"),
    ("LinearLR", dict(start_factor=0.0), "start_factor"), ("LinearLR", dict(start_factor=2.0), "start_factor"),
    ("LinearLR", dict(end_factor=1.5), "end_factor"), ("LinearLR", dict(total_iters=0), "total_iters"),
    ("ExponentialLR", dict(gamma=-0.5), "gamma"),
    ("PolynomialLR", dict(total_iters=0), "total_iters"), ("PolynomialLR", dict(power=-1.0), "power"),
    ("CosineAnnealingLR", dict(T_max=0), "T_max"), ("CosineAnnealingLR", dict(T_max=-5), "T_max"),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=-1.0), "eta_min"),
    ("CosineAnnealingWarmRestarts", dict(T_0=0), "T_0"), ("CosineAnnealingWarmRestarts", dict(T_0=5, T_mult=0), "T_mult"),
    ("CosineAnnealingWarmRestarts", dict(T_0=5, T_mult=1.5), "T_mult"),
    ("CosineAnnealingWarmRestarts", dict(T_0=5, eta_min="x"), "eta_min"),
    ("ReduceLROnPlateau", dict(factor=1.0), "factor"), ("ReduceLROnPlateau", dict(factor=-0.5), "factor"),
    ("ReduceLROnPlateau", dict(mode="up"), "mode"), ("ReduceLROnPlateau", dict(threshold_mode="log"), "threshold_mode"),
    ("ReduceLROnPlateau", dict(patience=-1), "patience"), ("ReduceLROnPlateau", dict(min_lr=-1.0), "min_lr"),
    ("ReduceLROnPlateau", dict(eps=-1.0), "eps"), ("ReduceLROnPlateau", dict(cooldown=-1), "cooldown"),
    ("OneCycleLR", dict(max_lr=0.1), "total_steps"), ("OneCycleLR", dict(max_lr=0.1, total_steps=0), "total_steps"),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=10, pct_start=1.5), "pct_start"),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=10, anneal_strategy="sine"), "anneal_strategy"),
    ("OneCycleLR", dict(max_lr=0.1, epochs=0, steps_per_epoch=5), "epochs"),
    ("OneCycleLR", dict(max_lr=0.1, epochs=2, steps_per_epoch=-5), "steps_per_epoch"),
]


def _get(lib, path):
    obj = lib
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


SYNONYMS = {"lr": "lr|learning rate", "nhead": "nhead|num_heads", "eps": "eps|epsilon", "beta": "beta"}


def _torch_error(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn()
        except Exception as e:              # noqa: BLE001  (whatever torch raises is the reference)
            return ValueError if isinstance(e, AssertionError) else type(e)
    return None


def _check(ours, theirs, word, what):
    with pytest.raises((ValueError, TypeError, RuntimeError, IndexError)) as err:
        ours()
    message = str(err.value)
    assert re.search(SYNONYMS.get(word, word), message, re.IGNORECASE) or word.replace("_", " ") in message.lower(), \
        f"{what}: the message should name {word!r}: {message}"
    expected = _torch_error(theirs)
    if expected in (ValueError, TypeError, IndexError):    # torch's RuntimeError from a negative size: any of ours
        assert isinstance(err.value, expected), f"{what}: torch raises {expected.__name__}, redes {err.type.__name__}"


@pytest.mark.parametrize("path, args, kwargs, word", LAYERS,
                         ids=[f"{p}-{a}-{k}" for p, a, k, _ in LAYERS])
def test_layer_and_loss_constructors(path, args, kwargs, word):
    _check(lambda: _get(rd, path)(*args, **kwargs), lambda: _get(torch, path)(*args, **kwargs), word,
           f"{path}(*{args}, **{kwargs})")


@pytest.mark.parametrize("name, kwargs, word", OPTIMIZERS, ids=[f"{n}-{k}" for n, k, _ in OPTIMIZERS])
def test_optimizer_constructors(name, kwargs, word):
    _check(lambda: getattr(rd.optim, name)([rd.nn.Parameter(rd.zeros(2))], **kwargs),
           lambda: getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs), word,
           f"{name}({kwargs})")


@pytest.mark.parametrize("name, kwargs, word", SCHEDULERS, ids=[f"{n}-{k}" for n, k, _ in SCHEDULERS])
def test_scheduler_constructors(name, kwargs, word):
    _check(lambda: getattr(rd.optim.lr_scheduler, name)(rd.optim.SGD([rd.nn.Parameter(rd.zeros(2))], lr=0.1), **kwargs),
           lambda: getattr(torch.optim.lr_scheduler, name)(torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1),
                                                            **kwargs), word, f"{name}({kwargs})")

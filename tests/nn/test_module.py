"""nn.Module and the containers: walking parameters/buffers/modules, modes, state_dict both ways with torch."""
import numpy as np
import pytest

import redes as rd
from redes import nn

torch = pytest.importorskip("torch")


class Net(nn.Module):
    def __init__(self, lib_nn):
        super().__init__()
        self.body = lib_nn.Sequential(lib_nn.Linear(3, 4), lib_nn.BatchNorm1d(4), lib_nn.ReLU())
        self.heads = lib_nn.ModuleList([lib_nn.Linear(4, 2), lib_nn.Linear(4, 1)])
        self.extra = lib_nn.ModuleDict({"proj": lib_nn.Linear(4, 5, bias=False)})

    def forward(self, x):
        h = self.body(x)
        return [head(h) for head in self.heads] + [self.extra["proj"](h)]


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        tnn = torch.nn
        self.body = tnn.Sequential(tnn.Linear(3, 4), tnn.BatchNorm1d(4), tnn.ReLU())
        self.heads = tnn.ModuleList([tnn.Linear(4, 2), tnn.Linear(4, 1)])
        self.extra = tnn.ModuleDict({"proj": tnn.Linear(4, 5, bias=False)})

    def forward(self, x):
        h = self.body(x)
        return [head(h) for head in self.heads] + [self.extra["proj"](h)]


def test_state_dict_keys_order_and_shapes_match_torch():
    ours, theirs = Net(nn).state_dict(), TorchNet().state_dict()
    assert list(ours) == list(theirs)
    assert [tuple(v.shape) for v in ours.values()] == [tuple(v.shape) for v in theirs.values()]
    assert ours["body.1.num_batches_tracked"].dtype == rd.int64


def test_weights_move_both_ways_and_outputs_agree():
    t = TorchNet().double()
    ours = Net(nn).double()
    ours.load_state_dict(t.state_dict())                         # torch -> redes, torch tensors accepted
    x = np.random.default_rng(0).normal(size=(6, 3))
    for a, b in zip(ours(rd.tensor(x)), t(torch.tensor(x))):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12)
    back = TorchNet().double()
    back.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in ours.state_dict().items()})
    ours_sd = ours.state_dict()
    for k, v in back.state_dict().items():                      # redes -> torch, exactly
        np.testing.assert_array_equal(v.numpy(), ours_sd[k].numpy(), err_msg=k)


def test_load_state_dict_errors_name_the_keys_and_shapes():
    m = Net(nn)
    sd = m.state_dict()
    bad = dict(sd)
    del bad["heads.0.bias"]
    bad["nope"] = sd["heads.0.weight"]
    with pytest.raises(RuntimeError, match=r"missing keys \['heads.0.bias'\].*unexpected keys \['nope'\]"):
        m.load_state_dict(bad)
    result = m.load_state_dict(bad, strict=False)
    assert result.missing_keys == ["heads.0.bias"] and result.unexpected_keys == ["nope"]
    wrong = dict(sd, **{"heads.0.weight": np.zeros((3, 3))})
    with pytest.raises(RuntimeError, match=r"size mismatch for heads.0.weight.*\(3, 3\).*\(2, 4\)"):
        m.load_state_dict(wrong)


def test_walking_parameters_buffers_modules_and_children():
    m = Net(nn)
    names = [n for n, _ in m.named_parameters()]
    assert names == [k for k in m.state_dict() if "running" not in k and "num_batches" not in k]
    assert [n for n, _ in m.named_buffers()] == ["body.1.running_mean", "body.1.running_var",
                                                 "body.1.num_batches_tracked"]
    assert [n for n, _ in m.named_children()] == ["body", "heads", "extra"]
    assert [n for n, _ in m.named_modules()] == ["", "body", "body.0", "body.1", "body.2", "heads", "heads.0",
                                                 "heads.1", "extra", "extra.proj"]
    assert m.num_parameters() == sum(p.numel() for p in TorchNet().parameters())


def test_a_shared_parameter_is_one_parameter():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(4, 4)
            self.dec = nn.Linear(4, 4)
            self.dec.weight = self.enc.weight                     # tied weights
    m = Tied()
    assert len(list(m.parameters())) == 3
    sd = m.state_dict()                                         # as torch: the tied weight under both names
    assert list(sd) == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    assert sd["dec.weight"].array is sd["enc.weight"].array
    assert m.state_dict()["dec.weight"] is not None and m.state_dict(keep_vars=True)["dec.weight"] is m.enc.weight
    assert m.num_parameters() == 16 + 4 + 4
    x = rd.randn(2, 4)
    m.dec(m.enc(x)).sum().backward()
    assert m.enc.weight.grad is m.dec.weight.grad               # one tensor, gradients of both uses summed
    opt = rd.optim.SGD(m.parameters(), lr=0.1)
    opt.step()                                                  # stepped once, not twice


def test_train_eval_zero_grad_apply_and_to():
    m = Net(nn)
    assert all(mod.training for mod in m.modules())
    m.eval()
    assert not any(mod.training for mod in m.modules())
    m.train()
    out = m(rd.randn(5, 3))
    sum(o.sum() for o in out).backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen[-1] == "Net" and seen[0] == "Linear"           # children first, as torch
    m.to(rd.float64)
    assert all(p.dtype == rd.float64 for p in m.parameters())
    assert m.body[1].num_batches_tracked.dtype == rd.int64      # integer buffers keep their dtype
    with pytest.raises(RuntimeError, match="Module.to: no CUDA here"):
        m.to("cuda")


def test_repr_matches_torch_for_the_containers():
    ours = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Flatten(), nn.Identity())
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Identity())
    assert repr(ours) == repr(theirs)


def test_sequential_modulelist_moduledict_behave_like_torch():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    assert len(seq) == 2 and isinstance(seq[0], nn.Linear) and isinstance(seq[-1], nn.ReLU)
    assert isinstance(seq[:1], nn.Sequential) and len(seq[:1]) == 1
    seq.append(nn.Linear(3, 1))
    assert seq(rd.randn(4, 2)).shape == (4, 1)
    from collections import OrderedDict
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"]
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.Linear(1, 1)).extend([nn.Linear(1, 1)])
    assert len(ml) == 3 and list(nn.Sequential(*ml).state_dict())[-1] == "2.bias"
    with pytest.raises(TypeError, match="expected a Module"):
        ml.append(3)
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md["train"] = nn.Linear(1, 2)                               # a key named like a method is fine
    assert list(md.keys()) == ["a", "train"] and "train" in md
    holder = nn.Module()
    holder.d = md
    assert list(holder.state_dict()) == ["d.a.weight", "d.a.bias", "d.train.weight", "d.train.bias"]
    holder.train()                                              # the method still works
    x = rd.randn(2, 6)
    assert nn.Unflatten(1, (2, 3))(x).shape == (2, 2, 3)
    assert nn.Flatten()(nn.Unflatten(1, (2, 3))(x)).shape == (2, 6)


def test_forward_hooks_and_pre_hooks():
    lin = nn.Linear(2, 2)
    seen = []
    h1 = lin.register_forward_pre_hook(lambda mod, args: seen.append(("pre", tuple(args[0].shape))))
    h2 = lin.register_forward_hook(lambda mod, args, out: out * 0)
    out = lin(rd.ones(3, 2))
    assert seen == [("pre", (3, 2))] and float(out.abs().sum()) == 0.0
    h1.remove()
    h2.remove()
    assert float(lin(rd.ones(3, 2)).abs().sum()) > 0 and len(seen) == 1


def test_parameter_dtype_rules():
    assert nn.Parameter(np.zeros(3)).dtype == rd.float32          # a NumPy float array: the default dtype
    assert nn.Parameter(rd.zeros(3, dtype=rd.float64)).dtype == rd.float64   # a Tensor keeps its dtype
    p = nn.Parameter(rd.zeros(2))
    assert p.requires_grad and p.is_leaf and repr(p).startswith("Parameter containing:")
    with pytest.raises(RuntimeError, match="floating-point"):
        nn.Parameter(np.zeros(2, np.int64))

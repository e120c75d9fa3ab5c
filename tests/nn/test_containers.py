"""Containers and weight tying as torch programs use them: ModuleDict attribute access, ModuleList/ParameterList/
ParameterDict behaviour, a tied model's state_dict (both names, as torch) loading strictly in both directions."""
import numpy as np
import pytest

import redes as rd
from redes import nn

torch = pytest.importorskip("torch")


def _tied_lm(lib, vocab=11, dim=6):
    """nanoGPT's layout: a ModuleDict 'transformer' (wte, wpe, ln_f), and lm_head tied to wte."""
    class TinyLM(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = lib.nn.ModuleDict(dict(wte=lib.nn.Embedding(vocab, dim), wpe=lib.nn.Embedding(8, dim),
                                                      ln_f=lib.nn.LayerNorm(dim)))
            self.lm_head = lib.nn.Linear(dim, vocab, bias=False)
            self.transformer.wte.weight = self.lm_head.weight            # weight tying

        def forward(self, idx):
            pos = lib.arange(idx.shape[1])
            x = self.transformer.wte(idx) + self.transformer.wpe(pos)
            return self.lm_head(self.transformer.ln_f(x))
    return TinyLM()


def test_tied_state_dict_lists_both_names_like_torch():
    ours, ref = _tied_lm(rd), _tied_lm(torch)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert "lm_head.weight" in ours.state_dict() and "transformer.wte.weight" in ours.state_dict()
    assert len(list(ours.parameters())) == len(list(ref.parameters())) == 4          # the tied one counts once
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]


def test_tied_model_loads_torch_state_dict_strictly_and_back():
    torch.manual_seed(0)
    ours, ref = _tied_lm(rd), _tied_lm(torch).double()
    result = ours.to(rd.float64).load_state_dict(ref.state_dict())              # strict: both names present
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert ours.lm_head.weight is ours.transformer.wte.weight                  # still tied after loading
    idx = np.array([[1, 4, 2, 9], [0, 3, 3, 10]])
    y = ours(rd.tensor(idx))
    y_ref = ref(torch.tensor(idx))
    np.testing.assert_allclose(y.detach().numpy(), y_ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    (y * y).sum().backward()
    (y_ref * y_ref).sum().backward()
    np.testing.assert_allclose(ours.lm_head.weight.grad.numpy(), ref.lm_head.weight.grad.numpy(), rtol=1e-10)
    back = _tied_lm(torch).double()
    back.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})     # torch, strict


def test_moduledict_attribute_access_assignment_and_deletion():
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    assert md.a is md["a"]
    md.b = nn.Linear(1, 2)                                  # an attribute assignment adds an entry, as torch
    assert list(md.keys()) == ["a", "b"] and md["b"] is md.b
    assert list(md.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]
    del md.a
    assert "a" not in md and len(md) == 1
    assert md.pop("b").out_features == 2 and len(md) == 0
    md.update([("c", nn.ReLU())])
    md.clear()
    assert len(md) == 0
    with pytest.raises(AttributeError, match="'ModuleDict' object has no attribute 'missing'"):
        md.missing
    with pytest.raises(TypeError, match="keys must be strings, got int 3"):
        md[3] = nn.ReLU()
    md.training = False                                     # plain attributes stay attributes
    assert md.training is False and len(md) == 0


def test_modulelist_like_torch():
    ml = nn.ModuleList([nn.Linear(1, 1), nn.ReLU()])
    tl = torch.nn.ModuleList([torch.nn.Linear(1, 1), torch.nn.ReLU()])
    for lst, lib in ((ml, nn), (tl, torch.nn)):
        lst.insert(1, lib.Tanh())
        lst += [lib.Sigmoid()]
        del lst[0]
        lst.append(lib.Linear(2, 2))
    assert [type(m).__name__ for m in ml] == [type(m).__name__ for m in tl] == ["Tanh", "ReLU", "Sigmoid", "Linear"]
    assert list(ml.state_dict()) == list(tl.state_dict()) == ["3.weight", "3.bias"]
    assert type(ml.pop(0)).__name__ == "Tanh" and len(ml) == 3 and getattr(ml, "2") is ml[2]
    assert len(ml + nn.ModuleList([nn.ReLU()])) == 4 and len(ml[-2:]) == 2
    with pytest.raises(TypeError, match="ModuleList.insert: expected a Module, got int"):
        ml.insert(0, 5)


def test_parameter_list_and_dict_like_torch():
    class Net(object):
        pass
    for lib in (rd, torch):
        m = lib.nn.Module()
        m.ps = lib.nn.ParameterList([lib.nn.Parameter(lib.zeros(2)), lib.ones(3)])
        m.pd = lib.nn.ParameterDict({"scale": lib.nn.Parameter(lib.ones(2))})
        m.pd["shift"] = lib.zeros(2)
        setattr(Net, "torch" if lib is torch else "redes", m)
    ours, ref = Net.redes, Net.torch
    assert list(ours.state_dict()) == list(ref.state_dict()) == ["ps.0", "ps.1", "pd.scale", "pd.shift"]
    assert all(isinstance(p, nn.Parameter) for p in ours.parameters()) and len(list(ours.parameters())) == 4
    assert ours.pd.scale is ours.pd["scale"] and list(ours.pd.keys()) == ["scale", "shift"]
    x = rd.ones(2)
    (ours.ps[0] * x + ours.pd["scale"] * ours.pd.shift).sum().backward()
    assert ours.ps[0].grad is not None and ours.pd["shift"].grad.tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="expected a Parameter or Tensor, got int"):
        ours.ps.append(3)

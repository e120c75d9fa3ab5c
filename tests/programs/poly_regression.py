"""Polynomial regression in the style of PyTorch's regression example: features x, x^2, x^3, x^4 built with
torch.cat of unsqueezed powers, one nn.Linear, F.smooth_l1_loss, and a hand-written SGD step on the parameters'
`.data` with `.grad` (`param.data.add_(-lr * param.grad)`), gradients cleared with `fc.zero_grad()`, and the
targets from `x.mm(W) + b.item()`.
Protocol: see test_programs.py.
"""
import numpy as np
import torch
import torch.nn.functional as F

POLY_DEGREE = 4


def make_features(x):
    """Builds features i.e. a matrix with columns [x, x^2, x^3, x^4]."""
    x = x.unsqueeze(1)
    return torch.cat([x ** i for i in range(1, POLY_DEGREE + 1)], 1)


def main(init=None, steps=5):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    W_target = torch.from_numpy(rng.normal(size=(POLY_DEGREE, 1)).astype(np.float32)) * 5
    b_target = torch.from_numpy(rng.normal(size=(1,)).astype(np.float32)) * 5
    fc = torch.nn.Linear(W_target.size(0), 1)
    if init is not None:
        fc.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    out = {"state": {k: v.detach().numpy().copy() for k, v in fc.state_dict().items()}, "losses": []}
    for batch_idx in range(steps):
        random = torch.from_numpy(rng.normal(size=(32,)).astype(np.float32))
        batch_x = make_features(random)
        batch_y = batch_x.mm(W_target) + b_target.item()
        fc.zero_grad()
        output = F.smooth_l1_loss(fc(batch_x), batch_y)
        loss = output.item()
        output.backward()
        if batch_idx == 0:
            out["output"] = fc(batch_x).detach().numpy()
            out["grads"] = {n: p.grad.detach().numpy().copy() for n, p in fc.named_parameters()}
        for param in fc.parameters():
            param.data.add_(-0.01 * param.grad)
        out["losses"].append(loss)
    out["final"] = {k: v.detach().numpy().copy() for k, v in fc.state_dict().items()}
    return out


if __name__ == "__main__":
    print(main()["losses"])

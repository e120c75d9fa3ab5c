"""Curve fitting with L-BFGS and a strong-Wolfe line search, in the style of PyTorch's "regression" and
"time sequence prediction" examples: a small tanh network fits a noisy sine, each optimizer.step(closure)
runs up to 20 L-BFGS iterations. Protocol: see test_programs.py.
"""
import numpy as np
import torch
from torch import nn


def make_model():
    return nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1))


def main(init=None, steps=5):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x_np = np.linspace(-3, 3, 64, dtype=np.float32)[:, None]
    y_np = (np.sin(x_np) + 0.05 * rng.normal(size=x_np.shape)).astype(np.float32)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    model = make_model()
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    out = {"state": {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}, "losses": []}
    criterion = nn.MSELoss()
    optimizer = torch.optim.LBFGS(model.parameters(), lr=0.8, history_size=10, max_iter=4,
                                  line_search_fn="strong_wolfe")
    first = model(x)
    criterion(first, y).backward()
    out["output"] = first.detach().numpy()
    out["grads"] = {n: p.grad.detach().numpy().copy() for n, p in model.named_parameters()}
    for i in range(steps):
        def closure():
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            return loss
        out["losses"].append(optimizer.step(closure).item())
    with torch.no_grad():
        out["prediction"] = model(x).numpy()
    out["final"] = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    out["checks"] = {"fits": out["losses"][-1] < 0.1 * out["losses"][0]}
    return out


if __name__ == "__main__":
    print(main()["losses"])

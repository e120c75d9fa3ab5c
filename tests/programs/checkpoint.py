"""Checkpointing in the style of the PyTorch tutorials ("Saving and loading a general checkpoint"): train 3 steps,
torch.save a dict of the model's and the optimizer's state_dicts with the epoch and the loss, build a fresh model
and optimizer, torch.load the file, load_state_dict both, and train 2 more steps. The resumed run must end exactly
where an uninterrupted run of 5 steps ends. Protocol: see test_programs.py.
"""
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(5, 12)
        self.fc2 = nn.Linear(12, 1)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def train(model, optimizer, x, y, steps, losses):
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return loss


def main(init=None, steps=5):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.normal(size=(32, 5)).astype(np.float32))
    y = torch.from_numpy(rng.normal(size=(32, 1)).astype(np.float32))
    model = Net()
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    out = {"state": {k: v.numpy().copy() for k, v in initial.items()}, "losses": []}
    first = model(x)
    nn.functional.mse_loss(first, y).backward()
    out["output"] = first.detach().numpy()
    out["grads"] = {n: p.grad.detach().numpy().copy() for n, p in model.named_parameters()}

    optimizer = optim.Adam(model.parameters(), lr=1e-2, amsgrad=True)
    loss = train(model, optimizer, x, y, 3, out["losses"])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "checkpoint.pt")
        torch.save({"epoch": 3, "model_state_dict": model.state_dict(),
                    "optimizer_state_dict": optimizer.state_dict(), "loss": loss.item()}, path)
        resumed = Net()
        resumed_opt = optim.Adam(resumed.parameters(), lr=1e-2, amsgrad=True)
        checkpoint = torch.load(path)
        resumed.load_state_dict(checkpoint["model_state_dict"])
        resumed_opt.load_state_dict(checkpoint["optimizer_state_dict"])
        epoch = checkpoint["epoch"]
    resumed.train()
    train(resumed, resumed_opt, x, y, steps - epoch, out["losses"])

    straight = Net()                                  # the same 5 steps without the checkpoint
    straight.load_state_dict(initial)
    train(straight, optim.Adam(straight.parameters(), lr=1e-2, amsgrad=True), x, y, steps, [])
    out["final"] = {k: v.detach().numpy().copy() for k, v in resumed.state_dict().items()}
    out["checks"] = {"resume_is_exact": all(torch.equal(a, b) for a, b in
                                            zip(resumed.state_dict().values(), straight.state_dict().values())),
                     "epoch": epoch == 3}
    return out


if __name__ == "__main__":
    print(main()["losses"])

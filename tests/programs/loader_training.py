"""A classifier trained from a DataLoader with a sampler, in the style of the PyTorch tutorials' training loops:
a custom Dataset, Subset + SubsetRandomSampler for the training rows, a sequential validation loader, an MLP,
SGD with momentum and MultiStepLR, `model.train()` / `model.eval()` and `torch.no_grad()` for the accuracy.

Each optimizer step accumulates the gradient over one whole epoch of shuffled minibatches (gradient
accumulation), so the step does not depend on the shuffled order, which differs between random streams.
Protocol: see test_programs.py.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Subset, SubsetRandomSampler


class Blobs(Dataset):
    """Three Gaussian blobs in 4-D, one class each."""

    def __init__(self, n=90, seed=0):
        rng = np.random.default_rng(seed)
        self.y = np.repeat(np.arange(3), n // 3)
        centers = rng.normal(scale=2.0, size=(3, 4))
        self.x = (centers[self.y] + rng.normal(size=(n, 4))).astype(np.float32)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return torch.tensor(self.x[i]), torch.tensor(self.y[i])


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 32)
        self.fc2 = nn.Linear(32, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


def evaluate(model, loader, device):
    model.eval()
    correct, total_loss = 0, 0.0
    with torch.no_grad():
        for data, target in loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            total_loss += F.cross_entropy(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    return total_loss / len(loader.dataset), correct / len(loader.dataset)


def main(init=None, steps=5):
    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data = Blobs()
    order = np.random.default_rng(1).permutation(len(data))
    train_idx, val_idx = order[:60].tolist(), order[60:].tolist()
    train_loader = DataLoader(data, batch_size=16, sampler=SubsetRandomSampler(train_idx), num_workers=0,
                              pin_memory=torch.cuda.is_available())
    val_loader = DataLoader(Subset(data, val_idx), batch_size=16, shuffle=False)
    model = Net().to(device)
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    out = {"state": {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}, "losses": []}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9, nesterov=True)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[2, 4], gamma=0.5)
    for epoch in range(steps):
        model.train()
        optimizer.zero_grad()
        epoch_loss = 0.0
        for batch_idx, (x, target) in enumerate(train_loader):
            x, target = x.to(device), target.to(device)
            loss = F.cross_entropy(model(x), target, reduction="sum") / len(train_idx)
            loss.backward()                         # gradients add up over the epoch
            epoch_loss += loss.item()
        if epoch == 0:
            out["grads"] = {n: p.grad.detach().cpu().numpy().copy() for n, p in model.named_parameters()}
            with torch.no_grad():
                out["output"] = model(torch.tensor(data.x[:5]).to(device)).cpu().numpy()
        optimizer.step()
        scheduler.step()
        out["losses"].append(epoch_loss)
    val_loss, val_acc = evaluate(model, val_loader, device)
    out["val"] = np.array([val_loss, val_acc])
    out["final"] = {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}
    out["checks"] = {"learned": val_acc > 0.8, "lr_decayed": abs(scheduler.get_last_lr()[0] - 0.05) < 1e-12}
    return out


if __name__ == "__main__":
    result = main()
    print(result["losses"], result["val"])

"""An MNIST-style CNN on scikit-learn's 8x8 digits, in the style of PyTorch's mnist example: two Conv2d layers,
max_pool2d, Dropout (p=0 here: masks would differ between random streams), log_softmax + nll_loss, Adadelta with
StepLR, a DataLoader over a TensorDataset, and an accuracy pass under torch.no_grad(). Protocol: see test_programs.py.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from sklearn.datasets import load_digits
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset

DROPOUT = 0.0          # the example uses 0.25 and 0.5


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.dropout1 = nn.Dropout(DROPOUT)
        self.dropout2 = nn.Dropout(DROPOUT)
        self.fc1 = nn.Linear(16 * 3 * 3, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return F.log_softmax(self.fc2(x), dim=1)


def main(init=None, steps=5):
    torch.manual_seed(1)
    digits = load_digits()
    x = torch.tensor(digits.images[:200] / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(digits.target[:200])
    loader = DataLoader(TensorDataset(x, y), batch_size=40, shuffle=False)
    device = torch.device("cpu")
    model = Net().to(device)
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    out = {"state": {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}, "losses": []}
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=2, gamma=0.7)
    model.train()
    for batch_idx, (data, target) in enumerate(loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        if batch_idx == 0:
            out["output"] = output.detach().numpy()
            out["grads"] = {n: p.grad.detach().numpy().copy() for n, p in model.named_parameters()}
        optimizer.step()
        scheduler.step()
        out["losses"].append(loss.item())
        if batch_idx + 1 == steps:
            break
    model.eval()
    correct = 0
    with torch.no_grad():
        for data, target in loader:
            pred = model(data).argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    out["accuracy"] = np.array(correct / len(loader.dataset))
    out["final"] = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return out


if __name__ == "__main__":
    result = main()
    print(result["losses"], result["accuracy"])

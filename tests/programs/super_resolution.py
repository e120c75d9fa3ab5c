"""Super-resolution in the style of PyTorch's super_resolution example (ESPCN, Shi et al. 2016): convolutions
then nn.PixelShuffle to upscale, orthogonal initialisation with calculate_gain('relu'), MSELoss, Adam, and the
PSNR of the result. Low-resolution inputs are 2x2-averaged 8x8 digits from scikit-learn. Protocol: see
test_programs.py.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.init as init
import torch.optim as optim
from sklearn.datasets import load_digits


class Net(nn.Module):
    def __init__(self, upscale_factor=2):
        super().__init__()
        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 16, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(16, 16, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(16, 8, (3, 3), (1, 1), (1, 1))
        self.conv4 = nn.Conv2d(8, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)
        self._initialize_weights()

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.relu(self.conv3(x))
        return self.pixel_shuffle(self.conv4(x))

    def _initialize_weights(self):
        init.orthogonal_(self.conv1.weight, init.calculate_gain("relu"))
        init.orthogonal_(self.conv2.weight, init.calculate_gain("relu"))
        init.orthogonal_(self.conv3.weight, init.calculate_gain("relu"))
        init.orthogonal_(self.conv4.weight)


def main(init=None, steps=5):
    torch.manual_seed(123)
    images = load_digits().images[:32].astype(np.float32) / 16.0
    small = images.reshape(32, 4, 2, 4, 2).mean(axis=(2, 4))
    target = torch.from_numpy(images).unsqueeze(1)
    input = torch.from_numpy(small).unsqueeze(1)
    model = Net(upscale_factor=2)
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    out = {"state": {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}, "losses": []}
    criterion = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    for step in range(steps):
        optimizer.zero_grad()
        prediction = model(input)
        loss = criterion(prediction, target)
        loss.backward()
        if step == 0:
            out["output"] = prediction.detach().numpy()
            out["grads"] = {n: p.grad.detach().numpy().copy() for n, p in model.named_parameters()}
        optimizer.step()
        out["losses"].append(loss.item())
    with torch.no_grad():
        mse = criterion(model(input), target)
    out["psnr"] = np.array(10 * math.log10(1 / mse.item()))
    out["final"] = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return out


if __name__ == "__main__":
    print(main()["losses"])

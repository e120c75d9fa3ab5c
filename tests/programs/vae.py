"""A variational autoencoder in the style of PyTorch's VAE example: fc1 -> (fc21, fc22) for mu and logvar,
the reparameterization trick, a sigmoid decoder, loss = binary cross-entropy (sum) + KL divergence, Adam.
The example draws eps with torch.randn_like; here eps comes from NumPy so both runs use the same noise.
Protocol: see test_programs.py.
"""
import numpy as np
import torch
from torch import nn, optim
from torch.nn import functional as F


class VAE(nn.Module):
    def __init__(self, d=20, h=16, z=3):
        super().__init__()
        self.fc1 = nn.Linear(d, h)
        self.fc21 = nn.Linear(h, z)
        self.fc22 = nn.Linear(h, z)
        self.fc3 = nn.Linear(z, h)
        self.fc4 = nn.Linear(h, d)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar, eps):
        std = torch.exp(0.5 * logvar)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x, eps):
        mu, logvar = self.encode(x.view(-1, 20))
        z = self.reparameterize(mu, logvar, eps)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 20), reduction="sum")
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


def main(init=None, steps=5):
    torch.manual_seed(1)
    rng = np.random.default_rng(0)
    images = (rng.uniform(size=(24, 4, 5)) > 0.6).astype(np.float32)        # binary 4x5 "images"
    model = VAE()
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    out = {"state": {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}, "losses": []}
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for step in range(steps):
        data = torch.from_numpy(images)
        eps = torch.from_numpy(rng.normal(size=(24, 3)).astype(np.float32))
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data, eps)
        loss = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        if step == 0:
            out["output"] = recon_batch.detach().numpy()
            out["grads"] = {n: p.grad.detach().numpy().copy() for n, p in model.named_parameters()}
        optimizer.step()
        out["losses"].append(loss.item() / len(data))
    model.eval()
    with torch.no_grad():
        sample = model.decode(torch.from_numpy(rng.normal(size=(4, 3)).astype(np.float32)))
    out["sample"] = sample.numpy()
    out["final"] = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return out


if __name__ == "__main__":
    print(main()["losses"])

"""A GAN on 2-D points in the style of the DCGAN example's training step: a generator and a discriminator
(LeakyReLU, Sigmoid), BCELoss with real/fake label tensors from torch.full, two Adam optimizers with
betas=(0.5, 0.999), `fake.detach()` for the discriminator step. Noise comes from NumPy so that both runs see
the same numbers. Protocol: see test_programs.py.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

nz = 3


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(nz, 16), nn.ReLU(True), nn.Linear(16, 2))

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2, inplace=True), nn.Linear(16, 1), nn.Sigmoid())

    def forward(self, input):
        return self.main(input).view(-1, 1).squeeze(1)


def weights_init(m):
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, 0.0, 0.2)
        nn.init.zeros_(m.bias)


def main(init=None, steps=5):
    torch.manual_seed(999)
    device = torch.device("cpu")
    netG, netD = Generator().to(device), Discriminator().to(device)
    netG.apply(weights_init)
    netD.apply(weights_init)
    if init is not None:
        netG.load_state_dict({k[2:]: torch.tensor(v) for k, v in init.items() if k.startswith("G.")})
        netD.load_state_dict({k[2:]: torch.tensor(v) for k, v in init.items() if k.startswith("D.")})

    def weights():
        return {**{"G." + k: v.detach().numpy().copy() for k, v in netG.state_dict().items()},
                **{"D." + k: v.detach().numpy().copy() for k, v in netD.state_dict().items()}}
    out = {"state": weights(), "losses": []}
    criterion = nn.BCELoss()
    real_label, fake_label = 1.0, 0.0
    optimizerD = optim.Adam(netD.parameters(), lr=2e-3, betas=(0.5, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=2e-3, betas=(0.5, 0.999))
    rng = np.random.default_rng(0)
    for i in range(steps):
        real = torch.from_numpy(rng.normal(loc=(2.0, -1.0), scale=0.3, size=(32, 2)).astype(np.float32))
        noise = torch.from_numpy(rng.normal(size=(32, nz)).astype(np.float32))
        # (1) update D: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        label = torch.full((real.size(0),), real_label, dtype=torch.float, device=device)
        output = netD(real)
        errD_real = criterion(output, label)
        errD_real.backward()
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        errD = errD_real + errD_fake
        optimizerD.step()
        # (2) update G: maximize log(D(G(z)))
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake)
        errG = criterion(output, label)
        errG.backward()
        if i == 0:
            out["output"] = fake.detach().numpy()
            out["grads"] = {**{"G." + n: p.grad.detach().numpy().copy() for n, p in netG.named_parameters()},
                            **{"D." + n: p.grad.detach().numpy().copy() for n, p in netD.named_parameters()}}
        optimizerG.step()
        out["losses"].append(errD.item() + errG.item())
        out.setdefault("errD", []).append(errD.item())
    out["final"] = weights()
    return out


if __name__ == "__main__":
    print(main()["losses"])

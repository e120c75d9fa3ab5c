"""Sine-wave prediction in the style of PyTorch's time_sequence_prediction example: two nn.LSTMCell layers
stepped over time with x.split / torch.stack, h and c states from torch.zeros(..., dtype=torch.double), a future
horizon fed back its own predictions, the whole model in float64 (.double()), and LBFGS with a closure.
Protocol: see test_programs.py.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim


class Sequence(nn.Module):
    def __init__(self, hidden=12):
        super().__init__()
        self.hidden = hidden
        self.lstm1 = nn.LSTMCell(1, hidden)
        self.lstm2 = nn.LSTMCell(hidden, hidden)
        self.linear = nn.Linear(hidden, 1)

    def forward(self, input, future=0):
        outputs = []
        h_t = torch.zeros(input.size(0), self.hidden, dtype=torch.double)
        c_t = torch.zeros(input.size(0), self.hidden, dtype=torch.double)
        h_t2 = torch.zeros(input.size(0), self.hidden, dtype=torch.double)
        c_t2 = torch.zeros(input.size(0), self.hidden, dtype=torch.double)
        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):                      # predict the future from its own outputs
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        return torch.cat(outputs, dim=1)


def main(init=None, steps=5):
    np.random.seed(2)
    T, L, N = 20, 24, 6
    x = np.empty((N, L), np.int64)
    x[:] = np.array(range(L)) + np.random.randint(-4 * T, 4 * T, N).reshape(N, 1)
    data = np.sin(x / 1.0 / T).astype("float64")
    input = torch.from_numpy(data[2:, :-1])
    target = torch.from_numpy(data[2:, 1:])
    test_input = torch.from_numpy(data[:2, :-1])
    torch.manual_seed(0)
    seq = Sequence()
    seq.double()
    if init is not None:
        seq.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    out = {"state": {k: v.detach().numpy().copy() for k, v in seq.state_dict().items()}, "losses": []}
    criterion = nn.MSELoss()
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8, max_iter=5)
    first = seq(input)
    criterion(first, target).backward()
    out["output"] = first.detach().numpy()
    out["grads"] = {n: p.grad.detach().numpy().copy() for n, p in seq.named_parameters()}
    for i in range(steps):
        def closure():
            optimizer.zero_grad()
            loss = criterion(seq(input), target)
            loss.backward()
            return loss
        out["losses"].append(optimizer.step(closure).item())
    with torch.no_grad():
        future = 10
        pred = seq(test_input, future=future)
    out["prediction"] = pred.detach().numpy()
    out["final"] = {k: v.detach().numpy().copy() for k, v in seq.state_dict().items()}
    return out


if __name__ == "__main__":
    print(main()["losses"])

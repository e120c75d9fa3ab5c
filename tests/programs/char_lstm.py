"""A character-level language model in the style of PyTorch's word_language_model example: Embedding -> LSTM
(2 layers, batch_first) -> Linear decoder, hidden state carried across batches with detach (truncated BPTT),
clip_grad_norm_, CrossEntropyLoss on the flattened logits, and Adam. Protocol: see test_programs.py.
"""
import numpy as np
import torch
import torch.nn as nn

TEXT = "the quick brown fox jumps over the lazy dog. " * 6


class CharRNN(nn.Module):
    def __init__(self, ntoken, ninp=12, nhid=16, nlayers=2):
        super().__init__()
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, batch_first=True)
        self.decoder = nn.Linear(nhid, ntoken)
        self.nlayers, self.nhid = nlayers, nhid

    def forward(self, input, hidden):
        output, hidden = self.rnn(self.encoder(input), hidden)
        return self.decoder(output), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (weight.new_zeros(self.nlayers, bsz, self.nhid), weight.new_zeros(self.nlayers, bsz, self.nhid))


def repackage_hidden(h):
    """Wraps hidden states in new Tensors, to detach them from their history."""
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


def main(init=None, steps=5):
    torch.manual_seed(0)
    chars = sorted(set(TEXT))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in TEXT], dtype=torch.long)
    bsz, bptt = 4, 10
    nbatch = data.size(0) // bsz
    data = data[:nbatch * bsz].view(bsz, -1)                   # (bsz, nbatch): one stream per row
    model = CharRNN(len(chars))
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    out = {"state": {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}, "losses": []}
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    hidden = model.init_hidden(bsz)
    model.train()
    for step in range(steps):
        i = step * bptt
        x, y = data[:, i:i + bptt], data[:, i + 1:i + 1 + bptt]
        hidden = repackage_hidden(hidden)
        model.zero_grad()
        output, hidden = model(x, hidden)
        loss = criterion(output.reshape(-1, len(chars)), y.reshape(-1))
        loss.backward()
        if step == 0:
            out["output"] = output.detach().numpy()
            out["grads"] = {n: p.grad.detach().numpy().copy() for n, p in model.named_parameters()}
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        out["losses"].append(loss.item())
    out["hidden"] = hidden[0].detach().numpy()
    out["final"] = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return out


if __name__ == "__main__":
    print(main()["losses"])

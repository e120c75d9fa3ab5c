"""Sampling from a character model in the style of nanoGPT's generate(): logits of the last position / temperature,
top-k filtering with torch.topk and a -inf mask, softmax, torch.multinomial, torch.cat, all under torch.no_grad().
The model (an MLP over a context of 3 characters) trains for 5 AdamW steps first.

The samples differ between libraries (other random streams), so the comparison covers the training, the first
step's top-k values, indices and filtered probabilities, and checks that every sampled character had a non-zero
probability under top-k filtering. Protocol: see test_programs.py.
"""
import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F

TEXT = "hello world, hello there, world of words. " * 4
CONTEXT = 3


class CharMLP(nn.Module):
    def __init__(self, vocab, n_embd=8, hidden=32):
        super().__init__()
        self.wte = nn.Embedding(vocab, n_embd)
        self.mlp = nn.Sequential(nn.Linear(CONTEXT * n_embd, hidden), nn.Tanh(), nn.Linear(hidden, vocab))

    def forward(self, idx, targets=None):
        logits = self.mlp(self.wte(idx).view(idx.size(0), -1))
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        """Append max_new_tokens sampled characters; also report whether each had non-zero filtered probability."""
        valid = True
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -CONTEXT:])
            logits = logits / temperature
            if top_k is not None:
                v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                logits[logits < v[:, [-1]]] = -float("Inf")
            probs = F.softmax(logits, dim=-1)
            idx_next = torch.multinomial(probs, num_samples=1)
            valid = valid and bool((probs.gather(1, idx_next) > 0).all())
            idx = torch.cat((idx, idx_next), dim=1)
        return idx, valid


def main(init=None, steps=5):
    torch.manual_seed(42)
    chars = sorted(set(TEXT))
    stoi = {c: i for i, c in enumerate(chars)}
    data = np.array([stoi[c] for c in TEXT])
    x = torch.tensor(np.stack([data[i:i + CONTEXT] for i in range(len(data) - CONTEXT)]))
    y = torch.tensor(data[CONTEXT:])
    model = CharMLP(len(chars))
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    out = {"state": {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}, "losses": []}
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-2)
    for step in range(steps):
        logits, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if step == 0:
            out["output"] = logits.detach().numpy()
            out["grads"] = {n: p.grad.detach().numpy().copy() for n, p in model.named_parameters()}
        optimizer.step()
        out["losses"].append(loss.item())
    model.eval()
    prompt = torch.tensor([[stoi[c] for c in "hel"], [stoi[c] for c in "wor"]], dtype=torch.long)
    with torch.no_grad():
        logits, _ = model(prompt)
        values, indices = torch.topk(logits, 4)
    out["topk_values"], out["topk_indices"] = values.numpy(), indices.numpy()
    sample, valid = model.generate(prompt, max_new_tokens=12, temperature=0.8, top_k=4)
    text = ["".join(chars[i] for i in row.tolist()) for row in sample]
    out["checks"] = {"topk_only": valid, "length": all(len(t) == 15 for t in text)}
    out["final"] = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return out


if __name__ == "__main__":
    print(main()["losses"])

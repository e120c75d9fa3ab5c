"""A character-level transformer: it reads Python's own standard library and learns to write code-like text.

Every Python installation carries its standard library as source files, so the corpus needs no download:
the .py files at the top of `sysconfig.get_paths()['stdlib']`, taken in sorted order until the character
budget is reached (or any text file with --text). Characters outside printable ASCII become '?'.

    tokens (N, T) -> Embedding + positional Embedding -> TransformerEncoder (causal mask: position t sees
    only 0..t) -> Linear -> logits (N, T, vocab): at every position, the next character's distribution.

The loss starts near ln(vocab) (a uniform guess, about 4.5 nats) and falls as the model learns character
frequencies, then words, then indentation and syntax. After training it samples new text one character
at a time (temperature < 1: safer, > 1: wilder).

Run:  python examples/char_transformer.py              (quick: 80 steps on 200 kB)
      python examples/char_transformer.py --full       (2000 steps on 2 MB, a larger model: tens of minutes)
      python examples/char_transformer.py --text book.txt --full --prompt "Once"
      redes demo char_transformer
Output: runs/char_transformer/curves.png (loss per step), runs/char_transformer/sample.txt.
"""
import argparse
import math
import sysconfig
import time
from pathlib import Path

import numpy as np

import redes as rd
from redes import nn
from redes.nn import functional as F

PRINTABLE = set(chr(c) for c in range(32, 127)) | {"\n"}


def stdlib_text(max_chars):
    """Deterministic corpus: the standard library's top-level .py files, sorted by name, up to max_chars."""
    folder = Path(sysconfig.get_paths()["stdlib"])
    parts, total = [], 0
    for path in sorted(folder.glob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        parts.append(text)
        total += len(text)
        if total >= max_chars:
            break
    if not parts:
        raise FileNotFoundError(f"char_transformer: no .py files found in {folder}; pass --text FILE")
    return "".join(parts)[:max_chars]


def clean(text):
    """Tabs to spaces, other characters outside printable ASCII to '?': a small, fixed-size vocabulary."""
    text = text.replace("\t", "    ").replace("\r\n", "\n")
    return "".join(c if c in PRINTABLE else "?" for c in text)


class CharTransformer(nn.Module):
    """Next-character model: token + position embeddings, a causal transformer encoder, a linear read-out."""

    def __init__(self, vocab_size, block_size, d_model=64, nhead=4, num_layers=2, dropout=0.1):
        super().__init__()
        self.block_size = block_size
        self.tok_emb = nn.Embedding(vocab_size, d_model)
        self.pos_emb = nn.Embedding(block_size, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, 4 * d_model, dropout=dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, norm=nn.LayerNorm(d_model))
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, idx):
        T = idx.shape[1]
        if T > self.block_size:
            raise ValueError(f"CharTransformer: sequence length {T} exceeds block_size {self.block_size}")
        x = self.tok_emb(idx) + self.pos_emb(rd.arange(T))
        mask = nn.Transformer.generate_square_subsequent_mask(T)   # -inf above the diagonal: no peeking ahead
        return self.head(self.encoder(x, mask=mask, is_causal=True))


def batches(data, block_size, batch_size, rng):
    """Random windows: inputs data[i:i+T], targets shifted by one, data[i+1:i+T+1]."""
    starts = rng.integers(0, len(data) - block_size - 1, batch_size)
    offsets = np.arange(block_size)
    x = data[starts[:, None] + offsets]
    y = data[starts[:, None] + offsets + 1]
    return rd.tensor(x), rd.tensor(y)


def estimate_loss(model, data, block_size, n_batches=4, batch_size=32, seed=1234):
    """Mean next-character cross-entropy (nats) on fixed random windows of data."""
    rng = np.random.default_rng(seed)
    model.eval()
    losses = []
    with rd.no_grad():
        for _ in range(n_batches):
            x, y = batches(data, block_size, batch_size, rng)
            logits = model(x)
            losses.append(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).item())
    model.train()
    return float(np.mean(losses))


def sample(model, prompt, length, stoi, itos, temperature=0.8, seed=0):
    """Generate `length` characters after `prompt`, one at a time, from softmax(logits / temperature)."""
    rng = np.random.default_rng(seed)
    unknown = stoi.get("?", 0)
    idx = [stoi.get(c, unknown) for c in prompt] or [stoi["\n"]]
    model.eval()
    with rd.no_grad():
        for _ in range(length):
            context = rd.tensor(np.array([idx[-model.block_size:]], dtype=np.int64))
            logits = model(context)[0, -1].numpy().astype(np.float64) / max(temperature, 1e-6)
            p = np.exp(logits - logits.max())
            idx.append(int(rng.choice(len(p), p=p / p.sum())))
    return "".join(itos[i] for i in idx)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="char_transformer.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true",
                        help="the long run: 2000 steps on 2 MB, 3 layers of width 128, context 96")
    parser.add_argument("--text", help="train on this text file instead of the standard library")
    parser.add_argument("--chars", type=int, help="characters of corpus to use (quick 200k, full 2M)")
    parser.add_argument("--steps", type=int, help="optimizer steps (quick 80, full 2000)")
    parser.add_argument("--block-size", type=int, help="context length (quick 64, full 96)")
    parser.add_argument("--width", type=int, help="d_model (quick 64, full 128)")
    parser.add_argument("--layers", type=int, help="transformer layers (quick 2, full 3)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--temperature", type=float, default=0.8, help="sampling temperature")
    parser.add_argument("--prompt", default="def ", help="text to start the sample with")
    parser.add_argument("--sample-chars", type=int, help="characters to sample (quick 200, full 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/char_transformer", help="folder for the plot and the sample")
    args = parser.parse_args(argv)
    full = args.full
    max_chars = args.chars or (2_000_000 if full else 200_000)
    steps = args.steps or (2000 if full else 80)
    block = args.block_size or (96 if full else 64)
    d_model = args.width or (128 if full else 64)
    layers = args.layers or (3 if full else 2)
    sample_chars = args.sample_chars or (1000 if full else 200)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rd.manual_seed(args.seed)

    if args.text:
        raw = Path(args.text).read_text(encoding="utf-8", errors="replace")[:max_chars]
        source = args.text
    else:
        raw = stdlib_text(max_chars)
        source = f"Python {sysconfig.get_python_version()} standard library"
    text = clean(raw)
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    itos = dict(enumerate(chars))
    data = np.array([stoi[c] for c in text], dtype=np.int64)
    split = int(0.9 * len(data))
    train, val = data[:split], data[split:]
    if len(val) <= block + 1:
        raise ValueError(f"char_transformer: the text is too short ({len(data)} characters) for windows of {block}")
    print(f"corpus: {source}, {len(text):,} characters, vocabulary {len(chars)} "
          f"(uniform guess: ln {len(chars)} = {math.log(len(chars)):.2f} nats)")

    model = CharTransformer(len(chars), block, d_model=d_model, num_layers=layers, nhead=4)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"transformer: {layers} layers, width {d_model}, 4 heads, context {block}, {n_params:,} parameters")
    optimizer = rd.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    scheduler = rd.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps, eta_min=args.lr / 10)
    rng = np.random.default_rng(args.seed)

    eval_every = max(steps // 10, 1)
    initial = estimate_loss(model, val, block)
    history = {"step": [], "loss": [], "val_step": [0], "val_loss": [initial]}
    print(f"step     0: validation loss {initial:.3f}")
    start = time.perf_counter()
    for step in range(1, steps + 1):
        x, y = batches(train, block, args.batch_size, rng)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        history["step"].append(step)
        history["loss"].append(loss.item())
        if step % eval_every == 0 or step == steps:
            val_loss = estimate_loss(model, val, block)
            history["val_step"].append(step)
            history["val_loss"].append(val_loss)
            print(f"step {step:5d}: training loss {np.mean(history['loss'][-eval_every:]):.3f}, "
                  f"validation loss {val_loss:.3f} ({val_loss / math.log(2):.2f} bits/char), "
                  f"{time.perf_counter() - start:.0f} s")
    final = history["val_loss"][-1]

    text_out = sample(model, args.prompt, sample_chars, stoi, itos, args.temperature, args.seed)
    print(f"\nsample (temperature {args.temperature}, seed {args.seed}):\n{'-' * 60}\n{text_out}\n{'-' * 60}")
    (out / "sample.txt").write_text(text_out, encoding="utf-8")
    _plot(history, math.log(len(chars)), out / "curves.png")
    print(f"validation loss {initial:.2f} -> {final:.2f} nats/char; plot in {out}/curves.png, sample in "
          f"{out}/sample.txt")
    return {"history": history, "initial_val_loss": initial, "final_val_loss": final, "sample": text_out,
            "vocab_size": len(chars), "n_parameters": n_params}


def _plot(history, uniform, path):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(history["step"], history["loss"], lw=0.8, alpha=0.6, label="training batch")
    ax.plot(history["val_step"], history["val_loss"], "o-", label="validation")
    ax.axhline(uniform, color="gray", ls=":", label="uniform guess, ln(vocab)")
    ax.set(xlabel="step", ylabel="cross-entropy (nats/char)", title="character-level transformer")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()

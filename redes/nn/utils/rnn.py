"""rd.nn.utils.rnn: padding variable-length sequences into one batch, as torch.nn.utils.rnn.

Only the padded form exists in redes: there is no PackedSequence (pack_padded_sequence), so recurrent
layers take padded batches, and a padded step is computed like any other.
"""
from ...tensor import Tensor


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of lengths L_i (each (L_i, *)) into (T, B, *), or (B, T, *) with batch_first; T = max L_i.

    Shorter sequences are filled with padding_value after their end (padding_side "right") or before
    their start ("left"). Differentiable in the sequences.

    Example:
        >>> a, b = rd.ones(3, 2), rd.ones(1, 2) * 2
        >>> rd.nn.utils.rnn.pad_sequence([a, b], batch_first=True)[1].tolist()
        [[2.0, 2.0], [0.0, 0.0], [0.0, 0.0]]
    """
    from ...factories import full
    from ...functions import cat, stack
    sequences = list(sequences)
    if not sequences or not all(isinstance(s, Tensor) for s in sequences):
        raise TypeError("pad_sequence: expected a non-empty list of Tensors, got "
                        f"{[type(s).__name__ for s in sequences]}")
    if padding_side not in ("left", "right"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got {padding_side!r}")
    trailing = {tuple(s.shape[1:]) for s in sequences}
    if len(trailing) > 1 or any(s.ndim == 0 for s in sequences):
        raise ValueError(f"pad_sequence: sequences must be (L, *) with the same trailing dims, got shapes "
                         f"{[tuple(s.shape) for s in sequences]}")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            pad = full((missing,) + tuple(s.shape[1:]), padding_value, dtype=s.dtype)
            s = cat([s, pad] if padding_side == "right" else [pad, s])
        padded.append(s)
    return stack(padded, dim=0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The inverse of pad_sequence (right padding): a list of the sequences, the i-th cut to lengths[i]."""
    batch = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [batch[i][:int(n)] for i, n in enumerate(lengths)]


__all__ = ["pad_sequence", "unpad_sequence"]

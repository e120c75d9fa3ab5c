"""rd.Generator: torch.Generator's interface on a NumPy generator, for seeded shuffles, splits and draws.

    g = rd.Generator().manual_seed(42)
    train, val = rd.utils.data.random_split(ds, [0.8, 0.2], generator=g)

It *is* a numpy.random.Generator (a subclass), so everything in redes that takes a `generator=` or
`rng=` argument accepts it. The streams differ from torch's: the same seed gives other numbers.
"""
import numpy as np


class Generator(np.random.Generator):
    """A random stream with torch.Generator's methods: manual_seed, seed, initial_seed, get_state, set_state.

    Example:
        >>> g = rd.Generator().manual_seed(0)
        >>> a = g.permutation(5)
        >>> (g.manual_seed(0).permutation(5) == a).all()
        np.True_
    """

    def __init__(self, device="cpu"):
        super().__init__(np.random.PCG64())
        self._seed = None
        self.device = device

    def manual_seed(self, seed):
        """Restart the stream from `seed` (a non-negative int); returns self, as torch."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"Generator.manual_seed: expected a non-negative integer, got {seed!r}")
        self._seed = int(seed)
        self.bit_generator.state = np.random.PCG64(self._seed).state
        return self

    def seed(self):
        """Reseed from fresh OS entropy; returns the new seed."""
        new = int(np.random.SeedSequence().entropy % (2 ** 63))
        self.manual_seed(new)
        return new

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The stream's state as a dict (JSON-serialisable), for set_state."""
        return self.bit_generator.state

    def set_state(self, state):
        self.bit_generator.state = state
        return self

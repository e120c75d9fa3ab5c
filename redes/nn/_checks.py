"""Argument validators for constructors: one line in a layer, loss, optimizer or scheduler `__init__`.

Each raises ValueError (TypeError for a value of the wrong kind) naming the owner, the argument, the value
received and what was expected, e.g. "Conv2d: kernel_size must hold positive ints, got (0, 0)". A constructor
refuses what torch would refuse only later (at forward or at step), so a bad argument never builds a layer
that returns a silently wrong shape.

Example:
    >>> from redes.nn._checks import positive_int
    >>> positive_int("Linear", "in_features", 0)
    Traceback (most recent call last):
    ...
    ValueError: Linear: in_features must be a positive int, got 0
"""
import math
import numbers


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _int(owner, name, value, minimum, expected):
    if not _is_int(value):
        raise TypeError(f"{owner}: {name} must be {expected}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be {expected}, got {value!r}")
    return int(value)


def positive_int(owner, name, value):
    """value as an int >= 1."""
    return _int(owner, name, value, 1, "a positive int")


def nonnegative_int(owner, name, value):
    """value as an int >= 0."""
    return _int(owner, name, value, 0, "a non-negative int")


def int_tuple(owner, name, value, n, minimum):
    """An int or an n-sequence of ints, each >= minimum, as an n-tuple (torch's _single/_pair, checked)."""
    items = tuple(value) if isinstance(value, (list, tuple)) else (value,) * n
    expected = f"{'positive' if minimum == 1 else 'non-negative'} ints" if minimum in (0, 1) else f"ints >= {minimum}"
    if len(items) != n or not all(_is_int(v) for v in items):
        raise TypeError(f"{owner}: {name} must be an int or a {n}-tuple of {expected}, got {value!r}")
    if any(v < minimum for v in items):
        raise ValueError(f"{owner}: {name} must hold {expected}, got {value!r}")
    return items


def number(owner, name, value, low=-math.inf, high=math.inf, low_open=False, high_open=False):
    """A finite real number within [low, high] (either end open when asked)."""
    lo, hi = "(" if low_open else "[", ")" if high_open else "]"
    if not _is_number(value):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}")
    ok = math.isfinite(value) or (value == high == math.inf and not high_open)
    ok = ok and (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        raise ValueError(f"{owner}: {name} must be a number in {lo}{low}, {high}{hi}, got {value!r}")
    return value


def probability(owner, name, value):
    """A probability in [0, 1] (dropout p, label smoothing...)."""
    return number(owner, name, value, 0.0, 1.0)


def positive(owner, name, value):
    """A finite number > 0 (eps of a norm, delta of the Huber loss...)."""
    return number(owner, name, value, 0.0, low_open=True)


def nonnegative(owner, name, value):
    """A finite number >= 0."""
    return number(owner, name, value, 0.0)


def one_of(owner, name, value, choices):
    """value must be one of choices (reduction, mode, nonlinearity...)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{owner}: {name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def output_size(owner, value, n):
    """An adaptive pool's output size: an int or n-tuple of positive ints (None keeps that dim)."""
    items = tuple(value) if isinstance(value, (list, tuple)) else (value,) * n
    if len(items) != n or any(v is not None and (not _is_int(v) or v < 1) for v in items):
        raise ValueError(f"{owner}: output_size must be positive: an int or a {n}-tuple of ints (or None), "
                         f"got {value!r}")

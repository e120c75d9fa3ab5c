"""Atomic file writes: a reader, or the next run after a crash, sees the old file or the new one, never half.

The data goes to a temporary file in the target's folder (same file system, so the rename is atomic), which
is flushed and fsync'd, renamed over the target with os.replace, and then the folder itself is fsync'd so the
rename survives a power loss. A process killed mid-write leaves the previous file intact (and at worst a
stray `.<name>.*.tmp<suffix>` file beside it).

Example:
    >>> from redes.io.atomic import atomic_write
    >>> atomic_write("notes.txt", "hello\\n")                      # doctest: +SKIP
    >>> atomic_write("table.csv", lambda tmp: frame.to_csv(tmp))   # doctest: +SKIP
"""
import os
import tempfile

__all__ = ["atomic_write"]


def _umask():
    mask = os.umask(0)      # the only way to read it; set back at once (import time, one thread)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()  # what open(path, "w") would give a new file


def _fsync_folder(folder):
    """Make a rename in `folder` durable (a no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path, data, *, encoding="utf-8"):
    """Write `data` to `path` atomically and durably; returns the path.

    Args:
        path: the file to create or replace (its folder is created if missing).
        data: bytes, str (written with `encoding`), or a callable `write(tmp_path)` that writes the
            temporary file itself (safetensors' save_file, DataFrame.to_csv, Figure.savefig). The temporary
            name ends with the target's suffix, so writers that pick a format from it pick the same one.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    name = os.path.basename(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp" + os.path.splitext(name)[1], dir=folder)
    try:
        if callable(data):
            os.close(fd)
            fd = None
            data(tmp)
            fd = os.open(tmp, os.O_RDWR)
        else:
            blob = data.encode(encoding) if isinstance(data, str) else bytes(data)
            view = memoryview(blob)
            while view:
                view = view[os.write(fd, view):]
        os.fsync(fd)
        os.close(fd)
        fd = None
        os.chmod(tmp, _MODE)
        os.replace(tmp, path)
    except BaseException:
        if fd is not None:
            os.close(fd)
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_folder(folder)
    return path

"""redes port: run a PyTorch program on redes by rewriting its import statements, and nothing else.

The rule (the contract between redes and PyTorch code):

    import torch                       ->  import redes as torch
    import torch.a.b as c              ->  import redes.a.b as c
    from torch.a import b              ->  from redes.a import b
    from torch import a                ->  from redes import a
    import torch.a.b        (no "as")  ->  import redes.a.b; import redes as torch

The rest of the file is untouched: `torch.zeros(3)`, `nn.Linear(...)`, `F.relu(...)` then call redes.
Statements are found with Python's parser (ast), so imports inside functions or `try:` blocks are
rewritten too, and strings or comments that mention torch are not. Other packages of the PyTorch
family (torchvision, torchaudio, ...) are left as they are.

    redes port train.py -o train_redes.py        # or: python -m redes.port train.py
"""
import argparse
import ast
import re
import sys

_FROM = re.compile(rb"^from(\s+)torch\b")


def _is_torch(module):
    return module == "torch" or (module or "").startswith("torch.")


def _renamed(module):
    return "redes" + module[len("torch"):]


def _import_text(node):
    """The rewritten text of `import ...` (each name on its own statement when one is torch's)."""
    parts = []
    for alias in node.names:
        if not _is_torch(alias.name):
            parts.append(f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else ""))
        elif alias.asname:
            parts.append(f"import {_renamed(alias.name)} as {alias.asname}")
        elif alias.name == "torch":
            parts.append("import redes as torch")
        else:                       # `import torch.nn` binds `torch`: load redes.nn, then bind torch to redes
            parts.append(f"import {_renamed(alias.name)}; import redes as torch")
    return "; ".join(parts).encode()


def port_source(source):
    """`source` (a Python program, str) with every torch import rewritten by the rule above.

    Raises:
        SyntaxError: the source is not valid Python (nothing is rewritten then).

    Example:
        >>> print(port_source("import torch\\nimport torch.nn.functional as F\\n"
        ...                   "from torch.utils.data import DataLoader\\n"))
        import redes as torch
        import redes.nn.functional as F
        from redes.utils.data import DataLoader
        <BLANKLINE>
    """
    tree = ast.parse(source)
    data = source.encode("utf-8")
    starts, pos = [0], 0                          # byte offset of each line (ast columns count UTF-8 bytes)
    for line in data.splitlines(keepends=True):
        pos += len(line)
        starts.append(pos)
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(_is_torch(a.name) for a in node.names):
            new = _import_text(node)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _is_torch(node.module):
            new = None
        else:
            continue
        begin = starts[node.lineno - 1] + node.col_offset
        end = starts[node.end_lineno - 1] + node.end_col_offset
        if new is None:
            new = _FROM.sub(rb"from\1redes", data[begin:end], count=1)
        edits.append((begin, end, new))
    for begin, end, new in sorted(edits, reverse=True):
        data = data[:begin] + new + data[end:]
    return data.decode("utf-8")


def port_file(path, out=None):
    """Rewrite the file at `path`; write it to `out` (a path) or return the new text when out is None."""
    with open(path, encoding="utf-8") as f:
        source = f.read()
    try:
        ported = port_source(source)
    except SyntaxError as e:
        raise ValueError(f"port: {path} is not valid Python (line {e.lineno}: {e.msg})") from None
    if out is None:
        return ported
    with open(out, "w", encoding="utf-8") as f:
        f.write(ported)
    return ported


def add_arguments(parser):
    """The arguments of `redes port` (also used by `python -m redes.port`)."""
    parser.add_argument("file", help="a Python file written for PyTorch")
    parser.add_argument("-o", "--out", metavar="OUT", help="where to write the result (default: print it)")
    return parser


def run(args):
    """Port args.file to args.out (or stdout); returns the exit status 0."""
    ported = port_file(args.file, args.out)
    if args.out is None:
        sys.stdout.write(ported)
    return 0


def main(argv=None):
    parser = add_arguments(argparse.ArgumentParser(prog="python -m redes.port", description=__doc__.split("\n")[0]))
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (OSError, ValueError) as e:
        print(f"redes port: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

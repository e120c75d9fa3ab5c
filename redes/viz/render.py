"""DOT text helpers, value formatting, and `Graph`: DOT source that renders to SVG/PNG through graphviz's `dot`.

Everything here is host-side drawing work: arrays arrive as NumPy (B.to_numpy) and are formatted as text.
The `graphviz` Python package is not needed: the DOT text is written here and `dot` is run as a subprocess.
"""
import html
import os
import shutil
import subprocess

import numpy as np

# Node colours by kind: the same palette in every style and scale.
FILL = {"input": "#dbe9f6", "param": "#fde5c8", "hidden": "#ffffff", "output": "#d7f0d2",
        "const": "#f2f2f2", "op": "#f4f4f4", "layer": "#eef3fb", "loss": "#f9dcdc"}
BORDER = {"input": "#3b73b9", "param": "#d9822b", "hidden": "#7a7a7a", "output": "#2f8a3b",
          "const": "#b0b0b0", "op": "#7a7a7a", "layer": "#3b5b92", "loss": "#b33a3a"}
GRAD_COLOR = "#c0392b"          # gradients in red, as in the lecture's pictures
MUTED = "#6b6b6b"
SYMBOL = {"add": "+", "sub": "−", "mul": "×", "div": "÷", "pow": "^", "matmul": "@", "neg": "−",
          "sum": "Σ", "mean": "mean"}

INSTALL_HINT = ("graphviz's `dot` program is needed to render pictures, and it was not found on PATH.\n"
                "Install it with:  apt-get install graphviz  (Debian/Ubuntu),  brew install graphviz  (macOS),\n"
                "conda install -c conda-forge graphviz,  or the installer from graphviz.org (Windows).\n"
                "Without it you can still read the DOT text (.source) or save it with .save('graph.dot').")


class GraphvizNotFound(RuntimeError):
    """Raised when a picture is asked for and graphviz's `dot` program is not installed."""


def dot_program():
    """Path of graphviz's `dot` (REDES_DOT overrides), or raise GraphvizNotFound with install instructions."""
    path = os.environ.get("REDES_DOT") or shutil.which("dot")
    if not path:
        raise GraphvizNotFound(INSTALL_HINT)
    return path


# ----------------------------------------------------------------------------------- formatting
def fmt_number(v, digits=4):
    """A number in a few characters: 18, 0.25, -1.5e-05, nan (`digits` significant digits)."""
    v = float(v)
    if v != v or v in (float("inf"), float("-inf")):
        return str(v)
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.{digits}g}"


def fmt_values(a, max_values=16):
    """Small arrays as their values (rows on separate lines); large ones as summary statistics."""
    a = np.asarray(a)
    if a.size <= max_values and a.ndim <= 2:
        if a.ndim == 0:
            return [fmt_number(a)]
        if a.ndim == 1:
            return ["[" + ", ".join(fmt_number(v) for v in a) + "]"]
        return ["[" + ", ".join(fmt_number(v) for v in row) + "]" for row in a]
    return fmt_stats(a)


def fmt_stats(a):
    """mean, std, min, max and the NaN/Inf count of an array (statistics over its finite values)."""
    a = np.asarray(a)
    if a.dtype.kind not in "fc":
        a = a.astype(np.float64)
    finite = np.isfinite(a)
    nan, inf = int(np.isnan(a).sum()), int((~finite).sum() - np.isnan(a).sum())
    good = a[finite]
    if good.size == 0:
        lines = ["no finite values"]
    else:
        lines = [f"mean {fmt_number(good.mean())}  std {fmt_number(good.std())}",
                 f"min {fmt_number(good.min())}  max {fmt_number(good.max())}"]
    lines.append(f"NaN {nan}" + (f"  Inf {inf}" if inf else ""))
    return lines


def fmt_shape(shape, dtype=None):
    s = "scalar" if len(shape) == 0 else "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    return f"{s} {dtype}" if dtype is not None else s


# ----------------------------------------------------------------------------------- DOT helpers
def esc(text):
    """Escape text for an HTML-like DOT label."""
    return html.escape(str(text), quote=True)


def quote(text):
    """A DOT double-quoted string."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def attrs(**kw):
    """[k=v, ...] with HTML labels (strings starting with '<' and ending with '>') left unquoted."""
    parts = []
    for k, v in kw.items():
        if v is None:
            continue
        k = "class" if k == "cls" else k
        v = str(v)
        parts.append(f"{k}={v}" if v.startswith("<") and v.endswith(">") else f"{k}={quote(v)}")
    return "[" + ", ".join(parts) + "]"


def table(rows, kind="hidden", bold_first=True):
    """An HTML-like label: rows is a list of rows, each a list of cells (text, color or None, colspan)."""
    border = 2 if kind in ("output", "loss") else 1
    out = [f'<<TABLE BORDER="{border}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" STYLE="ROUNDED" '
           f'BGCOLOR="{FILL[kind]}" COLOR="{BORDER[kind]}">']
    width = max(sum(c[2] if len(c) > 2 else 1 for c in row) for row in rows)
    for r, row in enumerate(rows):
        out.append("<TR>")
        for cell in row:
            text, color = cell[0], cell[1] if len(cell) > 1 else None
            span = cell[2] if len(cell) > 2 else (width if len(row) == 1 else 1)
            body = "<BR/>".join(esc(t) for t in (text if isinstance(text, list) else [text]))
            if color:
                body = f'<FONT COLOR="{color}">{body}</FONT>'
            if r == 0 and bold_first:
                body = f"<B>{body}</B>"
            out.append(f'<TD COLSPAN="{span}">{body}</TD>' if span > 1 else f"<TD>{body}</TD>")
        out.append("</TR>")
    out.append("</TABLE>>")
    return "".join(out)


def digraph(body, rankdir="TB", title=None, extra=()):
    """Wrap node/edge lines into a complete digraph."""
    head = ["digraph redes {", f"  graph [rankdir={rankdir}, fontname=\"Helvetica\", nodesep=0.35, ranksep=0.45"
            + (f", label={quote(title)}, labelloc=t, fontsize=16" if title else "") + "];",
            '  node [fontname="Helvetica", fontsize=11];',
            '  edge [fontname="Helvetica", fontsize=10, color="#555555", arrowsize=0.7];']
    return "\n".join(head + ["  " + line for line in extra] + ["  " + line for line in body] + ["}"]) + "\n"


# ----------------------------------------------------------------------------------- the picture
class Graph:
    """A drawn graph: DOT text in `.source`; `.save('g.svg' | 'g.png' | 'g.pdf' | 'g.dot')`; shows inline in Jupyter.

    `nodes` and `edges` hold what was drawn (node ids, kinds and labels as plain text) for programs that
    want the structure without parsing DOT.
    """
    def __init__(self, source, nodes=None, edges=None):
        self.source = source
        self.nodes = nodes if nodes is not None else {}
        self.edges = edges if edges is not None else []

    def pipe(self, format="svg"):
        """The picture as bytes in `format` ('svg', 'png', 'pdf', ...), rendered by graphviz's `dot`."""
        dot = dot_program()
        try:
            done = subprocess.run([dot, f"-T{format}"], input=self.source.encode("utf-8"),
                                  capture_output=True, timeout=120)
        except subprocess.TimeoutExpired:
            raise RuntimeError("graphviz's dot took over 120 s to lay out this graph; draw a smaller one "
                               "(scale='layers', or fewer units)") from None
        if done.returncode != 0:
            raise RuntimeError(f"graphviz's dot failed to render {format}: "
                               f"{done.stderr.decode('utf-8', 'replace').strip()}")
        return done.stdout

    def save(self, path, format=None):
        """Write the picture; the format comes from the file's suffix (.svg, .png, .pdf; .dot/.gv for the text)."""
        path = os.fspath(path)
        fmt = (format or os.path.splitext(path)[1].lstrip(".") or "svg").lower()
        from ..io.atomic import atomic_write
        atomic_write(path, self.source if fmt in ("dot", "gv") else self.pipe(fmt))
        return path

    render = save

    def _repr_svg_(self):
        return self.pipe("svg").decode("utf-8")

    def _repr_html_(self):
        try:
            return self._repr_svg_()
        except GraphvizNotFound as e:      # a notebook shows the reason and the DOT text, not a traceback
            return f"<pre>{esc(e)}\n\n{esc(self.source)}</pre>"

    def __str__(self):
        return self.source

    def __repr__(self):
        return f"<redes.viz.Graph: {len(self.nodes)} nodes, {len(self.edges)} edges; .source, .save('g.png')>"

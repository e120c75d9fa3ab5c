"""No import cycle between the package's modules: a lower floor never imports a higher one.

The rule, checked by parsing every module of `redes` with `ast`:
- Every import statement counts, at module level and inside functions alike. A function-level import only
  delays a dependency, it does not remove it: `autograd` importing `tensor` inside a function still makes
  the engine depend on the class built on top of it. A lower module that needs something from above gets it
  through a hook that the higher module registers when it is imported (e.g. `autograd.register_tensor`,
  `nn.module`'s symbolic-call hook set by `nn.graph`), or the shared code moves to a lower module.
- An edge goes to the module named: `from . import backend` -> `redes.backend`; `from .tensor import Tensor`
  -> `redes.tensor`; `from .ops import elementwise` -> `redes.ops.elementwise` (a package's `__init__`
  counts as a module of its own, e.g. `import redes` -> `redes`). Compiled modules (`_kernels`) and
  imports from outside the package have no module here and are skipped.
- A cycle is a strongly connected component of two or more modules; the test prints each one with its edges.
"""
import ast
import os

import redes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(redes.__file__)))


def modules():
    """name -> (path, is_package) for every .py file of the package."""
    found = {}
    for folder, _, files in os.walk(os.path.join(ROOT, "redes")):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(folder, f)
                name = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                found[name.removesuffix(".__init__")] = (path, f == "__init__.py")
    return found


def imported(name, is_package, node, known):
    """The package modules an Import/ImportFrom node names."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "redes"]
    if node.level:
        base = name if is_package else name.rpartition(".")[0]
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        target = f"{base}.{node.module}" if node.module else base
    else:
        target = node.module or ""
    if target.split(".")[0] != "redes":
        return []
    out = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        if sub in known:
            out.append(sub)                          # from .ops import elementwise: the submodule
        elif not _compiled(sub):
            out.append(target)                       # from .tensor import Tensor: the module itself
    return out


def _compiled(dotted):
    folder, _, stem = dotted.rpartition(".")
    path = os.path.join(ROOT, *folder.split("."))
    return os.path.isdir(path) and any(f.startswith(stem + ".") and f.endswith((".so", ".pyd"))
                                       for f in os.listdir(path))


def import_graph():
    known = modules()
    graph = {}
    for name, (path, is_package) in known.items():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        deps = set()
        for node in ast.walk(tree):                  # module level and inside functions alike
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in imported(name, is_package, node, known):
                    while target not in known and "." in target:
                        target = target.rpartition(".")[0]
                    if target != name:
                        deps.add(target)
        graph[name] = deps
    return graph


def cycles(graph):
    """Strongly connected components with two or more modules (Tarjan, iterative)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def describe(graph, comp):
    members = set(comp)
    return "\n".join(f"  {m} -> {sorted(graph[m] & members)}" for m in comp)


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_sees_module_and_function_level_imports():
    graph = import_graph()
    assert "redes.backend" in graph["redes.autograd"]
    assert "redes.autograd" in graph["redes.tensor"]
    assert "redes.ops.elementwise" in graph["redes.tensor"]
    assert "redes.nn.module" in graph["redes.nn.graph"]


def test_no_import_cycles():
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import cycles (a lower module imports a higher one):\n" + "\n".join(
        describe(graph, c) for c in found)

"""A small DOT reader for the viz tests: nodes, edges and their attributes, labels as plain text."""
import html
import re

_TOKEN = re.compile(r'\s*(?:(->)|([{}\[\];,=])|("(?:[^"\\]|\\.)*")|([A-Za-z0-9_.\-]+))', re.S)


def _tokens(src):
    i, out = 0, []
    while i < len(src):
        if src[i].isspace():
            i += 1
            continue
        if src[i] == "<":                                 # an HTML-like string: balanced < >
            depth, j = 0, i
            while True:
                depth += {"<": 1, ">": -1}.get(src[j], 0)
                j += 1
                if depth == 0:
                    break
            out.append(("html", src[i + 1:j - 1]))
            i = j
            continue
        m = _TOKEN.match(src, i)
        if not m:
            raise ValueError(f"DOT: cannot read at {src[i:i + 30]!r}")
        arrow, punct, string, ident = m.groups()
        if arrow:
            out.append(("->", arrow))
        elif punct:
            out.append((punct, punct))
        elif string:
            out.append(("str", string[1:-1].replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")))
        else:
            out.append(("id", ident))
        i = m.end()
    return out


def text_of(value):
    """An attribute value as plain text: HTML labels lose their tags (<BR/> becomes a newline)."""
    value = re.sub(r"<BR\s*/?>", "\n", value, flags=re.I)
    value = re.sub(r"</T[DR]>", "\n", value, flags=re.I)
    text = html.unescape(re.sub(r"<[^>]+>", "", value))
    return "\n".join(line.strip() for line in text.split("\n") if line.strip())


class Dot:
    """Parsed DOT: nodes {id: attrs}, edges [(a, b, attrs)]; attrs hold raw values plus 'text' (plain label)."""
    def __init__(self, source):
        self.nodes, self.edges = {}, []
        self._toks, self._i = _tokens(source), 0
        kind, _ = self._next()
        if self._peek()[0] == "id":
            self._next()
        self._expect("{")
        self._body()

    def _peek(self):
        return self._toks[self._i] if self._i < len(self._toks) else (None, None)

    def _next(self):
        tok = self._peek()
        self._i += 1
        return tok

    def _expect(self, kind):
        got = self._next()
        if got[0] != kind:
            raise ValueError(f"DOT: expected {kind}, got {got}")

    def _attrs(self):
        attrs = {}
        if self._peek()[0] != "[":
            return attrs
        self._next()
        while self._peek()[0] != "]":
            _, key = self._next()
            self._expect("=")
            kind, value = self._next()
            attrs[key] = value
            if self._peek()[0] == ",":
                self._next()
        self._next()
        if "label" in attrs:
            attrs["text"] = text_of(attrs["label"])
        return attrs

    def _body(self):
        while True:
            kind, value = self._next()
            if kind == "}" or kind is None:
                return
            if kind in (";", ","):
                continue
            if kind == "{":
                self._body()
                continue
            if kind == "id" and value == "subgraph":
                if self._peek()[0] == "id":
                    self._next()
                self._expect("{")
                self._body()
                continue
            if kind == "id" and value in ("graph", "node", "edge") and self._peek()[0] == "[":
                self._attrs()
                continue
            name = value
            if self._peek()[0] == "=":                      # key=value inside a (sub)graph
                self._next()
                self._next()
                continue
            if self._peek()[0] == "->":
                self._next()
                _, target = self._next()
                self.edges.append((name, target, self._attrs()))
                continue
            attrs = self._attrs()
            if attrs or name not in self.nodes:
                self.nodes.setdefault(name, {}).update(attrs)

    # ------------------------------------------------------------------ queries
    def out_edges(self, node):
        return [e for e in self.edges if e[0] == node]

    def in_edges(self, node):
        return [e for e in self.edges if e[1] == node]

    def with_class(self, cls):
        return {k: v for k, v in self.nodes.items() if v.get("class") == cls}

    def find(self, first_line):
        """Node ids whose label's first line is exactly `first_line`."""
        return [k for k, v in self.nodes.items() if v.get("text", "").strip().split("\n")[0].strip() == first_line]

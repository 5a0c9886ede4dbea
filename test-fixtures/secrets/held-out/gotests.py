"""Extracts the Pattern-test cases (input text, wanted results) of trufflehog detector tests."""
import re

TOKEN_RE = re.compile(r'''
 (?P<ws>\s+)|(?P<lc>//[^\n]*)|(?P<bc>/\*.*?\*/)|
 (?P<raw>`[^`]*`)|(?P<str>"(?:\\.|[^"\\\n])*")|(?P<rune>'(?:\\.|[^'\\\n])+')|
 (?P<num>[0-9][0-9a-zA-Z_.]*)|(?P<id>[A-Za-z_][A-Za-z0-9_]*)|
 (?P<op>:=|\.\.\.|&&|\|\||==|!=|<=|>=|\+=|[-+*/%&|^<>=!(){}\[\],;:.])
''', re.S | re.X)

def tokenize(src):
    out = []
    pos = 0
    while pos < len(src):
        m = TOKEN_RE.match(src, pos)
        if not m:
            out.append(("op", src[pos])); pos += 1; continue
        pos = m.end()
        k = m.lastgroup
        if k in ("ws", "lc", "bc"):
            continue
        out.append((k, m.group(k)))
    return out

def unquote(s):
    body = s[1:-1]
    out = []
    i = 0
    simple = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c); i += 1; continue
        n = body[i + 1]
        if n in simple:
            out.append(simple[n]); i += 2
        elif n == "x":
            out.append(chr(int(body[i + 2:i + 4], 16))); i += 4
        elif n == "u":
            out.append(chr(int(body[i + 2:i + 6], 16))); i += 6
        elif n == "U":
            out.append(chr(int(body[i + 2:i + 10], 16))); i += 10
        elif n in "01234567":
            out.append(chr(int(body[i + 1:i + 4], 8))); i += 4
        else:
            raise ValueError("escape")
    return "".join(out)

class Fail(Exception):
    pass

def gofmt(fmt, args):
    out = []
    i = 0
    ai = 0
    while i < len(fmt):
        c = fmt[i]
        if c != "%":
            out.append(c); i += 1; continue
        j = i + 1
        while j < len(fmt) and fmt[j] in "+-# 0123456789.":
            j += 1
        verb = fmt[j]
        if verb == "%":
            out.append("%")
        else:
            if ai >= len(args):
                raise Fail("args")
            a = args[ai]; ai += 1
            if verb in "sv":
                out.append(str(a))
            elif verb == "q":
                out.append('"' + str(a).replace("\\", "\\\\").replace('"', '\\"') + '"')
            elif verb == "d":
                out.append(str(a))
            else:
                raise Fail("verb " + verb)
        i = j + 1
    return "".join(out)

class Parser:
    def __init__(self, toks, env):
        self.t = toks; self.env = env

    def expr(self, i):
        """Evaluates a string expression starting at token i; returns (value, next index)."""
        val, i = self.term(i)
        while i < len(self.t) and self.t[i] == ("op", "+"):
            v2, i = self.term(i + 1)
            if isinstance(val, str) and isinstance(v2, str):
                val = val + v2
            else:
                raise Fail("plus")
        return val, i

    def term(self, i):
        k, v = self.t[i]
        if k == "raw":
            return v[1:-1].replace("\r", ""), i + 1
        if k == "str":
            return unquote(v), i + 1
        if k == "num":
            return v, i + 1
        if k == "id":
            # pkg.Func(
            if v in ("fmt",) and self.t[i + 1] == ("op", ".") and self.t[i + 2][1] == "Sprintf":
                args, i = self.args(i + 3)
                if not args or not isinstance(args[0], str):
                    raise Fail("sprintf")
                return gofmt(args[0], args[1:]), i
            if v == "strings" and self.t[i + 1] == ("op", ".") and self.t[i + 2][1] == "Repeat":
                args, i = self.args(i + 3)
                return args[0] * int(args[1]), i
            if v == "string" and self.t[i + 1] == ("op", "("):
                args, i = self.args(i + 1)
                return args[0], i
            if v in self.env and self.t[i + 1] not in (("op", "("), ("op", "."), ("op", "[")):
                return self.env[v], i + 1
            raise Fail("id " + v)
        if (k, v) == ("op", "("):
            val, i = self.expr(i + 1)
            if self.t[i] != ("op", ")"):
                raise Fail("paren")
            return val, i + 1
        raise Fail("tok %r" % v)

    def args(self, i):
        if self.t[i] != ("op", "("):
            raise Fail("call")
        i += 1
        out = []
        while self.t[i] != ("op", ")"):
            val, i = self.expr(i)
            out.append(val)
            if self.t[i] == ("op", ","):
                i += 1
        return out, i + 1

def skip_balanced(toks, i):
    """toks[i] is an opener; returns index after its closer."""
    pairs = {"{": "}", "(": ")", "[": "]"}
    depth = 0
    while i < len(toks):
        k, v = toks[i]
        if k == "op" and v in pairs:
            depth += 1
        elif k == "op" and v in ")}]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i

def collect_env(toks):
    env = {}
    p = Parser(toks, env)
    for _ in range(3):  # later declarations may refer to earlier or later ones
        for i in range(len(toks) - 2):
            k, v = toks[i]
            if k != "id":
                continue
            nxt = toks[i + 1]
            start = None
            if nxt in (("op", "="), ("op", ":=")):
                start = i + 2
            elif nxt[0] == "id" and nxt[1] == "string" and toks[i + 2] == ("op", "="):
                start = i + 3
            if start is None:
                continue
            if i > 0 and toks[i - 1] in (("op", "."), ("op", ",")):
                continue
            try:
                val, j = p.expr(start)
            except (Fail, IndexError, ValueError):
                continue
            if isinstance(val, str) and (j >= len(toks) or toks[j][0] in ("id",) or toks[j] in (("op", ")"), ("op", ";"), ("op", "}"))):
                env.setdefault(v, val)
    return env

def cases(src):
    toks = tokenize(src)
    env = collect_env(toks)
    p = Parser(toks, env)
    out = []
    failed = 0
    # find every composite element that has an `input:` key
    for i in range(len(toks) - 2):
        if toks[i] in (("id", "input"), ("id", "Input")) and toks[i + 1] == ("op", ":"):
            # find enclosing '{' start: walk back to name
            try:
                text, j = p.expr(i + 2)
            except (Fail, IndexError, ValueError):
                failed += 1
                continue
            if not isinstance(text, str):
                failed += 1; continue
            # find `want:` within the same element (next tokens until the element's closing brace)
            depth = 0
            k = j
            want = None
            name = None
            # look backwards for name:
            b = i
            d = 0
            while b > 0:
                if toks[b] == ("op", "}"):
                    d += 1
                elif toks[b] == ("op", "{"):
                    if d == 0:
                        break
                    d -= 1
                b -= 1
            for q in range(b, i):
                if toks[q] == ("id", "name") and toks[q + 1] == ("op", ":"):
                    try:
                        name, _ = p.expr(q + 2)
                    except Exception:
                        pass
            while k < len(toks):
                tk = toks[k]
                if tk in (("op", "{"), ("op", "("), ("op", "[")):
                    depth += 1
                elif tk in (("op", "}"), ("op", ")"), ("op", "]")):
                    if depth == 0:
                        break
                    depth -= 1
                elif depth == 0 and tk in (("id", "want"), ("id", "Expected"), ("id", "expected"), ("id", "Want")) and toks[k + 1] == ("op", ":"):
                    want = parse_want(p, toks, k + 2)
                k += 1
            if want is None:
                failed += 1; continue
            out.append({"name": name, "input": text, "want": want})
    return out, failed

def parse_list(p, toks, j, keyed):
    end = skip_balanced(toks, j)
    items = []
    k = j + 1
    while k < end - 1:
        try:
            val, k = p.expr(k)
        except (Fail, IndexError, ValueError):
            return None
        items.append(val)
        if keyed:
            if toks[k] != ("op", ":"):
                return None
            k += 1
            if toks[k] in (("op", "{"), ("op", "("), ("op", "[")):
                k = skip_balanced(toks, k)
            else:
                while toks[k] not in (("op", ","), ("op", "}")):
                    k += 1
        if toks[k] == ("op", ","):
            k += 1
    return items

def parse_want(p, toks, i):
    if toks[i] == ("id", "nil"):
        return []
    if toks[i] == ("op", "[") and toks[i + 1] == ("op", "]") and toks[i + 2] == ("id", "string"):
        j = i + 3
        if toks[j] == ("op", "("):
            return []
        if toks[j] != ("op", "{"):
            return None
        return parse_list(p, toks, j, False)
    if toks[i] == ("id", "map"):
        j = i + 1
        while toks[j] != ("op", "{"):
            j = skip_balanced(toks, j) if toks[j] == ("op", "[") else j + 1
        if toks[j + 1] == ("op", "}") and toks[j - 1] == ("id", "struct"):
            j += 2
        if toks[j] != ("op", "{"):
            return None
        return parse_list(p, toks, j, True)
    return None

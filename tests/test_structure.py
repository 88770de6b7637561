"""Code-structure rules read from the sources with `ast`: no import cycles inside exposure_batch (counting imports
inside functions too), each room imports only the layers below it (docs/architecture.md), and colour facts (luma weights, transfer curves, white points, matrices) written only in
exposure_batch/color.py."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "exposure_batch"


def _modules(package: Path) -> dict[str, tuple[Path, bool]]:
    """{dotted name: (path, is_package)} for every module of the package at `package`."""
    out = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return out


def _imports(name: str, path: Path, is_pkg: bool, known) -> set[str]:
    """Modules of ours that `name` imports anywhere (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                pkg = name.split(".") if is_pkg else name.split(".")[:-1]
                base = ".".join(pkg[: len(pkg) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target not in known and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in known and target != name:
                found.add(target)
    return found


def import_cycles(package: Path = PACKAGE) -> list[list[str]]:
    """Strongly connected components (size > 1) of the import graph; a package importing its own submodules, or a
    module importing its parent package, is not counted (Python resolves those by design)."""
    mods = _modules(package)
    graph = {}
    for name, (path, is_pkg) in mods.items():
        edges = _imports(name, path, is_pkg, mods)
        graph[name] = {t for t in edges if not t.startswith(name + ".") and not name.startswith(t + ".")}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_no_import_cycles():
    assert import_cycles() == []


def test_cycle_finder_sees_a_cycle(tmp_path):
    pkg = tmp_path / "exposure_batch"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("def f():\n    from .a import g  # inside a function still counts\n")
    assert import_cycles(pkg) == [["exposure_batch.a", "exposure_batch.b"]]



#: The rooms of exposure_batch, bottom to top (docs/architecture.md draws them). A room may import rooms of lower
#: layers only: never a room of its own layer or above (the ground floor's modules may import each other; the cycle
#: test keeps that acyclic). The lazy `module:function` strings of sources.SOURCES are how a lower room reaches a
#: higher one (look's and shoot's recipe sources), never an import.
LAYERS = (
    ("__init__", "color", "config", "errors", "failures", "limits", "lockfile", "names"),  # ground floor
    ("filters", "io"),
    ("recipe",),
    ("render",),
    ("agent",),
    ("sources", "sidecars", "report"),
    ("pipeline",),
    ("engine",),
    ("look", "shoot"),
    ("service", "runs", "watch"),
    ("cli",),
    ("__main__",),
)


def _room(module: str) -> str:
    """exposure_batch.pipeline.stages -> pipeline; exposure_batch -> __init__."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def upward_imports(package: Path = PACKAGE, layers=LAYERS) -> list[str]:
    """'a.b -> c.d (layer i -> j)' for every import of a room in the same or a higher layer, and 'room: no layer'
    for a room that LAYERS does not place."""
    rank = {room: i for i, layer in enumerate(layers) for room in layer}
    mods = _modules(package)
    found = sorted({f"{_room(m)}: no layer" for m in mods if _room(m) not in rank})
    for name, (path, is_pkg) in sorted(mods.items()):
        src = _room(name)
        for target in sorted(_imports(name, path, is_pkg, mods)):
            dst = _room(target)
            if src == dst or src not in rank or dst not in rank or (rank[src] == rank[dst] == 0):
                continue
            if rank[dst] >= rank[src]:
                found.append(f"{name} -> {target} (layer {rank[src]} -> {rank[dst]})")
    return found


def test_each_room_imports_only_lower_layers():
    assert upward_imports() == []


def test_layer_rule_sees_an_upward_import_and_an_unplaced_room(tmp_path):
    pkg = tmp_path / "exposure_batch"
    for room in ("pipeline", "look", "extra"):
        (pkg / room).mkdir(parents=True)
        (pkg / room / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "errors.py").write_text("")
    (pkg / "pipeline" / "stages.py").write_text("def f():\n    from ..look.profile import g  # lazy still counts\n")
    (pkg / "look" / "profile.py").write_text("from ..errors import E\nfrom ..pipeline import stages\n")
    assert upward_imports(pkg) == ["extra: no layer",
                                   "exposure_batch.pipeline.stages -> exposure_batch.look.profile (layer 6 -> 8)"]

#: Numbers that only a colour fact uses: luma weights, the sRGB / Rec.2020 / ProPhoto / Adobe RGB transfer curves,
#: the D50 PCS and D65 whites (XYZ and xy), the sRGB -> XYZ matrix and the Rec. 709 luminance weights.
COLOUR_FACTS = {0.0031308, 12.92, 0.04045, 1.055, 0.055, 1.09929682680944, 0.018053968510807, 0.09929682680944,
                1 / 512, 16 / 512, 563 / 256, 0.9642, 0.8249, 0.95047, 1.08883, 0.4124564, 0.7151522, 0.9503041,
                0.3127, 0.3290, 0.2126, 0.7152, 0.0722}
LUMA = (0.27, 0.67, 0.06)


def colour_fact_literals(path: Path) -> list[str]:
    """'file:line value' for each colour-fact number (or the luma triple) written in `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hits = []
    for node in ast.walk(tree):
        value = None
        if isinstance(node, ast.Constant) and isinstance(node.value, float):
            value = node.value
        elif (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
              and all(isinstance(x, ast.Constant) and isinstance(x.value, (int, float)) for x in (node.left, node.right))
              and node.right.value):
            value = node.left.value / node.right.value
        if value is not None and any(abs(value - f) < 1e-12 for f in COLOUR_FACTS):
            hits.append(f"{path.name}:{node.lineno} {value}")
        if isinstance(node, (ast.List, ast.Tuple)) and len(node.elts) == 3 and all(
                isinstance(e, ast.Constant) for e in node.elts) and tuple(e.value for e in node.elts) == LUMA:
            hits.append(f"{path.name}:{node.lineno} luma weights")
    return hits


def test_colour_facts_live_only_in_color_py():
    others = [p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "color.py"]
    hits = [h for p in others for h in colour_fact_literals(p)]
    assert hits == [], "colour constants outside color.py: " + ", ".join(hits)
    own = colour_fact_literals(PACKAGE / "color.py")
    assert any("luma" in h for h in own) and len(own) >= 10  # the finder does see them where they belong

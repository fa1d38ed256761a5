"""Imports run one way: a walk over every module's imports (with `ast`, nothing imported) fails on a
cycle between modules or between layers, and on an import against the layer order."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline", "models", "flows")

# Lowest first: a module may import its own layer and the layers before it, never one after it.
LAYERS = (
    ("pipeline.__init__", "pipeline.window", "pipeline.document", "pipeline.text", "pipeline.inert"),
    ("models.digest", "models.lexical", "models.quantize"),
    ("pipeline.secrets", "pipeline.config"),
    ("models.encoder", "models.sentiment", "models.onnx", "models.embedder", "models.voc", "models.__init__"),
    ("pipeline.ingest",),
    ("pipeline.warehouse", "pipeline.topics"),
    ("pipeline.insights",),
    ("pipeline.resources",),
    ("pipeline.components",),
    ("pipeline.nlp",),
    ("pipeline.app", "pipeline.classify"),
    ("flows",),
    ("models.training",),
    ("models.evaluation",),
)
# The CLI's `sori bench` is the one runtime door to the evaluation code, opened only when asked.
ALLOWED = {("flows.cli", "models.evaluation.bench")}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts)] = path
    return found


def imports(path: Path, known: set[str]) -> Iterator[str]:
    """The project modules a file imports, at module level or inside functions."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name in known:
                yield name
            elif f"{name}.__init__" in known:
                yield f"{name}.__init__"


def layer(module: str) -> int:
    matches = [(len(prefix), index) for index, group in enumerate(LAYERS) for prefix in group
               if module == prefix or module.startswith(prefix + ".")]
    if not matches:
        raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")
    return max(matches)[1]


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {module: set(imports(path, known)) - {module} for module, path in found.items()}


def test_every_import_goes_down_the_layers() -> None:
    wrong = [f"{module} (layer {layer(module)}) imports {target} (layer {layer(target)})"
             for module, targets in graph().items() for target in targets
             if layer(target) > layer(module) and (module, target) not in ALLOWED]
    assert not wrong, "\n".join(sorted(wrong))


@pytest.mark.parametrize("unit", ["module", "package"])
def test_no_import_cycle(unit: str) -> None:
    """No cycle between modules, nor between packages (pipeline.ingest, models.evaluation, flows …)."""
    edges = graph()
    if unit == "package":
        def package(module: str) -> str:
            return ".".join(module.split(".")[:2]) if module.startswith(("pipeline.", "models.")) else module
        folded: dict[str, set[str]] = {}
        for module, targets in edges.items():
            if (module, next(iter(targets), "")) in ALLOWED:
                continue
            folded.setdefault(package(module), set()).update(
                package(t) for t in targets if (module, t) not in ALLOWED)
        edges = {node: targets - {node} for node, targets in folded.items()}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                cycle = path[path.index(target):] + [target]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


def test_the_application_and_its_flows_import_no_topic_fitting_or_torch() -> None:
    """BERTopic, UMAP, HDBSCAN (numba) and torch take seconds to import and are needed only to fit or
    read a topic model or to run the torch backend: a flow run reaches its first batch without them."""
    import subprocess
    import sys

    heavy = ("bertopic", "umap", "hdbscan", "numba", "torch")
    code = f"import sys, pipeline.app, flows.nightly; print(*(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == []

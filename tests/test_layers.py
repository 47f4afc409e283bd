"""The package's layers only point down (docs/architecture.md, "Layers"): every ``import app.X``
in ``app/`` goes to the same layer or one below, and only the web layer imports Flask. Read from
the source with ``ast`` (imports inside functions and under ``TYPE_CHECKING`` included, except
that a ``TYPE_CHECKING`` block may name a type from above)."""
from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"

# Lowest first. A unit is a subpackage or a top-level module of app/.
LAYERS = [
    ["files"],
    ["video"],
    ["features"],
    ["temporal"],
    ["bundle"],
    ["explain"],
    ["classifier"],
    ["data", "evaluation"],
    ["training"],
    ["tasks"],
    ["batch", "jobs"],
    ["web", "cli"],
    ["__main__"],
]
RANK = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}


def unit_of(path: Path) -> str:
    rel = path.relative_to(APP)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    typing_only = _type_checking_lines(tree)
    out = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in typing_only:
            continue
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


def modules():
    return sorted(p for p in APP.rglob("*.py") if p.name != "__init__.py" or p.parent != APP)


def test_every_unit_has_a_layer():
    units = {unit_of(p) for p in modules()}
    assert units <= set(RANK), f"add these to LAYERS (and docs/architecture.md): {sorted(units - set(RANK))}"


def test_imports_only_point_down():
    upward = []
    for path in modules():
        src = unit_of(path)
        for line, name in imports(path):
            parts = name.split(".")
            if parts[0] != "app" or len(parts) < 2:
                continue
            dst = parts[1]
            if dst != src and RANK.get(dst, -1) > RANK[src]:
                upward.append(f"{path.relative_to(APP.parent)}:{line} {src} -> {dst} ({name})")
    assert not upward, "imports that run back up the layers:\n" + "\n".join(upward)


def test_only_the_web_layer_imports_flask():
    found = [f"{p.relative_to(APP.parent)}:{line} {name}" for p in modules() if unit_of(p) != "web"
             for line, name in imports(p) if name.split(".")[0] in ("flask", "werkzeug")]
    assert not found, found


def test_the_checker_sees_an_upward_import(tmp_path):
    """The check can fail: an import of the classifier from the video layer is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom app.classifier import SingleVideoClassifier\n"
                   "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app.web import api\n")
    found = [name for _, name in imports(bad)]
    assert "app.classifier" in found and "app.web" not in found
    assert RANK["classifier"] > RANK["video"]

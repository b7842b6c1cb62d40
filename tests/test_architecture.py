"""The package's layers: every import points inward (down this list), never outward.

Read from the source with ``ast`` (every ``import``, also inside functions and under
``TYPE_CHECKING``), so a lazy import cannot hide an outward arrow. The layers, from
the outside in, are those of docs/architecture.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sitefinder

PACKAGE = Path(sitefinder.__file__).parent

#: Outermost first. A module may import its own layer and the layers below it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("cli", "commands"),
    ("api", "regions"),
    ("pipeline",),
    ("render", "selection"),
    ("surfaces", "surfacecache", "indicatorcache", "routes"),
    ("scoring", "coverage"),
    ("indicators", "netcache", "gridcache", "rendercache", "featurecache", "noisemodel", "netbuild", "categories"),
    ("io",),
    ("config", "datatypes", "memory", "network", "nearest", "nearestkernel", "mobility", "osmrules", "products", "presets",
     "progress", "sample", "errors"),
)  # fmt: skip
#: What any module may take from the package root (constants; the root itself is the API facade).
ROOT_NAMES = {"__version__", "RESULT_FORMAT_VERSION"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> list[tuple[str, int]]:
    """``(imported module or module.name, line)`` for every sitefinder import in a file."""
    mod = _module_name(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    out: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, base] if base else up)
            if base == "sitefinder":
                out += [(f"sitefinder.{a.name}", node.lineno) for a in node.names]
            else:
                out.append((base, node.lineno))
    return [(name, line) for name, line in out if name.split(".")[0] == "sitefinder"]


def layer_of(module: str) -> int | None:
    """Index in :data:`LAYERS` of a ``sitefinder.<part>...`` module (None: the package root)."""
    parts = module.split(".")
    if len(parts) < 2:
        return None
    for k, names in enumerate(LAYERS):
        if parts[1] in names:
            return k
    return None


def outward_imports() -> list[str]:
    """Every import that points to an outer layer, as ``file:line: a -> b``."""
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        mod = _module_name(path)
        here = layer_of(mod)
        if here is None:  # the package root: the facade over everything
            continue
        for target, line in imports_of(path):
            parts = target.split(".")
            if len(parts) == 2 and parts[1] in ROOT_NAMES:
                continue
            there = layer_of(target)
            if there is None or there < here:
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {mod} -> {target}")
    return bad


def test_every_module_has_a_layer() -> None:
    tops = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()}
    tops = {t for t in tops if (PACKAGE / f"{t}.py").is_file() or (PACKAGE / t / "__init__.py").is_file()}
    placed = {n for names in LAYERS for n in names}
    assert tops - {"__init__"} - placed == set(), "place the new module in LAYERS (and docs/architecture.md)"
    assert placed - tops == set(), "a module in LAYERS is gone"


def test_imports_point_inward() -> None:
    assert outward_imports() == []


@pytest.mark.parametrize(
    ("source", "outward"),
    [
        ("from sitefinder.scoring.profiles import Profile\n", ["1: sitefinder.io.layers -> sitefinder.scoring.profiles"]),
        ("def f():\n    from sitefinder.render import map\n", ["2: sitefinder.io.layers -> sitefinder.render"]),
        ("from ..scoring import score\n", ["1: sitefinder.io.layers -> sitefinder.scoring"]),
        ("import sitefinder.api\n", ["1: sitefinder.io.layers -> sitefinder.api"]),
        ("from sitefinder import Study\n", ["1: sitefinder.io.layers -> sitefinder.Study"]),
        ("from sitefinder.io.paths import is_within\nfrom sitefinder import __version__\nfrom . import atomic\n", []),
    ],
)  # fmt: skip
def test_the_check_finds_an_outward_import(
    source: str, outward: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A copy of the package layout with one io module that imports outward (or not).
    fake = tmp_path / "sitefinder"
    (fake / "io").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "io" / "__init__.py").write_text("")
    (fake / "io" / "layers.py").write_text(source)
    monkeypatch.setattr(f"{__name__}.PACKAGE", fake)
    assert outward_imports() == [f"sitefinder/io/layers.py:{o}" for o in outward]

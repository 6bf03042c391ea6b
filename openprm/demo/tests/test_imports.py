"""The demo is a client of the apps, like an import: it writes through their services and reads their models
and selectors, never their pages or API; and no product code depends on the demo."""

from __future__ import annotations

import ast
from pathlib import Path

import openprm

ROOT = Path(openprm.__file__).parent
APPS = ("accounts", "partners", "deals", "activity", "metrics", "portal", "integrations")
LAYERS = ("models", "services", "selectors")
# Pure functions over plain data (no writes, no requests) that the demo computes with, and the rollups API.
PURE = (
    "openprm.activity.attribution",
    "openprm.deals.matching",
    "openprm.activity.rollups",
    "openprm.deals.rollups",
)
OFF_PRODUCT = ("demo", "bench", "testing")


def _is_module(name: str) -> bool:
    """Whether ``openprm....`` names a module or package of ours (not a function or class in one)."""
    path = ROOT.joinpath(*name.split(".")[1:])
    return name.startswith("openprm.") and (path.is_dir() or path.with_suffix(".py").exists())


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports: ``from a import b`` imports ``a.b`` when b is a module, else ``a``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if _is_module(name) else node.module)
    return found


def allowed(module: str) -> bool:
    parts = module.split(".")
    if parts[0] != "openprm" or len(parts) < 2 or parts[1] not in APPS:
        return True
    if len(parts) == 2:
        return True  # the app package itself (``from openprm.deals import matching`` names the module)
    return parts[2] in LAYERS or any(module == p or module.startswith(p + ".") for p in PURE)


def test_the_demo_uses_only_services_selectors_and_models_of_the_apps() -> None:
    modules = [p for p in (ROOT / "demo").rglob("*.py") if "tests" not in p.parts]
    assert len(modules) > 5
    used = {(str(path.relative_to(ROOT)), module) for path in modules for module in imports(path)}
    assert ("demo/partners.py", "openprm.partners.services.bulk") in used  # the test sees what it checks
    assert {(path, module) for path, module in used if not allowed(module)} == set()


def test_no_product_code_imports_the_demo() -> None:
    product = [
        path
        for path in ROOT.rglob("*.py")
        if path.relative_to(ROOT).parts[0] not in OFF_PRODUCT and "tests" not in path.parts
    ]
    config = list((ROOT.parent / "config").glob("*.py"))
    assert len(product) > 100
    users = {
        str(path) for path in [*product, *config] if any(m.startswith("openprm.demo") for m in imports(path))
    }
    assert users == set()

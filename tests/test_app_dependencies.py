"""The apps depend on each other one way: Billbee side ← sevDesk side ← exports.

Walks every module's imports (including function-local ones) and fails on an import that
points the wrong way, and on any cycle between the project's apps.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Each app may import only the apps listed for it (and itself).
ALLOWED = {
    "merchants": set(),
    "core": {"merchants"},
    "orders": {"core", "merchants"},
    "connections": {"core", "merchants", "orders"},
    "accounts_mapping": {"core", "merchants", "orders", "connections"},
    "exports": {"core", "merchants", "orders", "connections", "accounts_mapping"},
    "reconciliation": {"core", "merchants", "orders", "connections", "accounts_mapping", "exports"},
    # The home page shows every app's figures; nothing imports it.
    "dashboard": {
        "core",
        "merchants",
        "orders",
        "connections",
        "accounts_mapping",
        "exports",
        "reconciliation",
    },
}
APPS = set(ALLOWED) | {"sandbox"}


def imported_apps(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & APPS
    return found


def app_graph() -> dict[str, dict[str, set[str]]]:
    """app → imported app → the modules that import it."""
    graph: dict[str, dict[str, set[str]]] = {app: {} for app in ALLOWED}
    for app in ALLOWED:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for other in imported_apps(path) - {app}:
                graph[app].setdefault(other, set()).add(str(path.relative_to(ROOT)))
    return graph


@pytest.mark.parametrize("app", sorted(ALLOWED))
def test_an_app_imports_only_the_apps_below_it(app):
    wrong = {
        other: sorted(modules)
        for other, modules in app_graph()[app].items()
        if other not in ALLOWED[app]
    }
    assert wrong == {}, f"{app} imports {wrong}"


def test_there_is_no_import_cycle_between_apps():
    graph = {app: set(edges) for app, edges in app_graph().items()}
    visiting, done = set(), set()

    def visit(app, trail):
        if app in done:
            return
        assert app not in visiting, "import cycle: " + " → ".join([*trail, app])
        visiting.add(app)
        for other in graph.get(app, ()):
            visit(other, [*trail, app])
        visiting.discard(app)
        done.add(app)

    for app in graph:
        visit(app, [])


def test_the_walk_finds_a_wrong_way_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from exports.services import order_export\n")
    assert imported_apps(module) == {"exports"}

"""The rooms may not import each other, so the shapes they share are pinned here against docs/contracts.md."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from nlp.analyzer import ANALYSIS_FIELDS
from nlp.topics import TOPICS as NLP_TOPICS
from playbooks.schema import TOPICS as PLAYBOOK_TOPICS

REPO = Path(__file__).resolve().parents[1]
CONTRACTS = (REPO / "docs" / "contracts.md").read_text(encoding="utf-8")


def test_topics_agree_across_rooms_and_the_contract():
    line = next(ln for ln in CONTRACTS.splitlines() if ln.startswith("`交易系统故障`"))
    documented = tuple(re.findall(r"`([^`]+)`", line))
    assert tuple(NLP_TOPICS) == tuple(PLAYBOOK_TOPICS) == documented


def test_analysis_fields_match_the_contract():
    block = CONTRACTS.split("## Analysis", 1)[1].split("```")[1]
    documented = [ln.split()[0] for ln in block.strip().splitlines()]
    assert list(ANALYSIS_FIELDS) == documented


# What each room may import, module by module: a name is allowed when it is one of these or inside one.
# yuqing/ is the composition root and may import everything; the desk reaches it only for its settings and
# the running parts (README, "Rooms"; ../shared/DESIGN.md).
ALLOWED = {
    "crawlers": {"crawlers"},
    "nlp": {"nlp"},
    "store": {"store"},
    "playbooks": {"playbooks", "store"},
    "desk": {"desk", "store", "playbooks", "yuqing.config", "yuqing.context"},
}
OURS = {"crawlers", "nlp", "store", "playbooks", "desk", "yuqing"}


def _imported_names(node: ast.AST) -> list[str]:
    """Dotted names an import statement brings in: ``from a.b import c`` gives ``a.b.c`` (a module or a
    name in ``a.b``), ``import a.b`` gives ``a.b``; relative imports are not used in this house."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [f"{node.module}.{a.name}" for a in node.names]
    return []


def _allowed(name: str, allowed: set[str]) -> bool:
    return any(name == a or name.startswith(a + ".") for a in allowed)


def test_rooms_import_only_what_is_below_them():
    wrong = []
    for room, allowed in ALLOWED.items():
        for path in (REPO / room).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):  # every import, in functions and under TYPE_CHECKING too
                for name in _imported_names(node):
                    if name.split(".")[0] in OURS and not _allowed(name, allowed):
                        wrong.append(f"{path.relative_to(REPO)} imports {name}")
    assert wrong == []


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.Module) -> list[str]:
    """Every import that runs: at module level and inside functions and classes, not those under
    ``if TYPE_CHECKING:`` (annotations only; they never run)."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for other in child.orelse:
                    visit(other)
                continue
            found.extend(_imported_names(child))
            visit(child)

    visit(tree)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_graph() -> dict[str, set[str]]:
    """Module → the modules of ours it imports (``from a.b import c``: ``a.b.c`` when that is a module,
    else ``a.b``)."""
    modules = {}
    for room in sorted(OURS):
        for path in (REPO / room).rglob("*.py"):
            modules[_module_name(path)] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return sorted(cycles)


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}, "b": {"a.x"}}
    assert import_cycles(graph) == [["a.x", "a.y", "a.z"]]


def test_no_import_cycles_anywhere_in_the_house():
    """No module of ours imports, directly or through others, a module that imports it back: not at module
    level and not inside a function either (a deferred import hides a loop, it does not remove it)."""
    assert import_cycles(import_graph()) == []

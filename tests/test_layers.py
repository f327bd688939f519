"""The layers docs/architecture.md promises, read from the imports of every module.

`parsers/` and `exporters/` are installed as `agent_usage.parsers` and
`agent_usage.exporters` (setuptools package-dir), so their files are named by that mapping
here, as Python imports them.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"agent_usage": ROOT / "agent_usage", "agent_usage.parsers": ROOT / "parsers",
            "agent_usage.exporters": ROOT / "exporters"}  # fmt: skip


def modules() -> dict[str, Path]:
    """Every module of the installed package, by its import name."""
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join((package, *parts))
            if package == "agent_usage" and parts and parts[0] in ("parsers", "exporters"):
                continue
            found[name] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules `path` imports, at any depth of the file (relative imports resolved;
    `from package import x` names `package.x` when that is one of the `known` modules)."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                names.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return names


def violations(table: dict[str, Path]) -> set[tuple[str, str]]:
    """(module, imported) pairs of `table`'s modules that break a layer rule."""
    found = set()

    def under(module: str, prefix: str) -> bool:
        return module == prefix or module.startswith(prefix + ".")

    known = set(modules()) | set(table)
    for name, path in table.items():
        for target in imports(name, path, known):
            if under(name, "agent_usage.parsers"):
                allowed = under(target, "agent_usage.parsers") or target == "agent_usage.records"
                if target.startswith("agent_usage") and not allowed:
                    found.add((name, target))
            if under(name, "agent_usage.exporters") or under(name, "agent_usage.tui"):
                for banned in ("agent_usage.store", "duckdb", "agent_usage.pricing", "agent_usage.cost_sql"):
                    if under(target, banned):
                        found.add((name, banned))
            if under(target, "agent_usage.tui") and not (
                under(name, "agent_usage.tui") or name == "agent_usage.cli"
            ):
                found.add((name, "agent_usage.tui"))
            if target == "agent_usage.tui.app" and name not in ("agent_usage.cli", "agent_usage.tui.app"):
                found.add((name, target))  # screens get what they need passed in: no circle back to the app
            if name == "agent_usage.queries" and target.split(".")[0] in ("rich", "textual"):
                found.add((name, target.split(".")[0]))
    return found


def test_the_package_mapping_names_every_module() -> None:
    table = modules()
    assert "agent_usage.parsers.claude_code" in table and "agent_usage.exporters.transport" in table
    assert "agent_usage.tui.app" in table and "agent_usage.cli" in table


def test_layers_hold() -> None:
    assert violations(modules()) == set()


def test_the_rules_catch_each_kind_of_violation(tmp_path: Path) -> None:
    """The checker itself, on made-up modules: each rule reports its breach."""
    sources = {
        "agent_usage.parsers.fake": "from agent_usage import records, store\n",
        "agent_usage.exporters.fake": "import duckdb\n",
        "agent_usage.tui.fake": "from agent_usage.store import connect\n",
        "agent_usage.render.fake": "from agent_usage.tui.app import AgentUsageApp\n",
        "agent_usage.queries": "from rich.table import Table\n",
        "agent_usage.tui.screens": "from agent_usage.tui.app import AgentUsageApp\n",
    }
    table = {}
    for index, (name, source) in enumerate(sources.items()):
        table[name] = tmp_path / f"m{index}.py"
        table[name].write_text(source)
    assert violations(table) == {
        ("agent_usage.parsers.fake", "agent_usage.store"),
        ("agent_usage.exporters.fake", "duckdb"),
        ("agent_usage.tui.fake", "agent_usage.store"),
        ("agent_usage.render.fake", "agent_usage.tui"),
        ("agent_usage.render.fake", "agent_usage.tui.app"),
        ("agent_usage.queries", "rich"),
        ("agent_usage.tui.screens", "agent_usage.tui.app"),
    }

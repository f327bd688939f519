"""The wheel as users get it, and the code style the repository keeps: both checked in CI
through the README's one test command."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_wheel_holds_parsers_and_exporters_under_agent_usage(tmp_path: Path) -> None:
    """`parsers/` and `exporters/` ship as `agent_usage.parsers` and `agent_usage.exporters`,
    and nothing generic lands in site-packages."""
    source = tmp_path / "source"  # setuptools builds inside the tree: never in the checkout itself
    skip = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__")
    shutil.copytree(ROOT, source, ignore=skip)
    wheel_dir = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheel_dir), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("agent_usage-*.whl")
    target = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    assert sorted(p.name for p in target.iterdir() if not p.name.endswith(".dist-info")) == [
        "agent_usage",
        "bin",
    ]
    # -S: no .pth files, so the editable install of this checkout cannot answer the import
    dependencies = sysconfig.get_paths()["purelib"]
    code = (
        f"import sys; sys.path[:0] = [{str(target)!r}]; sys.path.append({dependencies!r})\n"
        "import agent_usage.parsers.claude_code as parser, agent_usage.exporters.transport as transport\n"
        "import agent_usage.tui.app\n"
        "print(parser.__file__); print(transport.__file__)"
    )
    imported = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr
    files = imported.stdout.split()
    assert files == [
        str(target / "agent_usage" / "parsers" / "claude_code.py"),
        str(target / "agent_usage" / "exporters" / "transport.py"),
    ]


def test_ruff_finds_nothing_to_say() -> None:
    folders = [str(ROOT / name) for name in ("agent_usage", "parsers", "exporters", "tests")]
    check = subprocess.run([sys.executable, "-m", "ruff", "check", *folders], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    style = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", *folders], capture_output=True, text=True
    )
    assert style.returncode == 0, style.stdout + style.stderr


@pytest.mark.slow
def test_mypy_checks_all_three_roots_as_installed(tmp_path: Path) -> None:
    """`mypy -p agent_usage` in the checkout would skip parsers/ and exporters/ (they are mapped
    in by package-dir), so the check runs on a copy laid out as the wheel installs it."""
    tree = tmp_path / "tree"
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "agent_usage", tree / "agent_usage", ignore=skip)
    shutil.copytree(ROOT / "parsers", tree / "agent_usage" / "parsers", ignore=skip)
    shutil.copytree(ROOT / "exporters", tree / "agent_usage" / "exporters", ignore=skip)
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "-p", "agent_usage"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    files = sum(1 for _ in (tree / "agent_usage").rglob("*.py"))
    assert f"no issues found in {files} source files" in checked.stdout

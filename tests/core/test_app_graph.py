"""The app graph is a DAG, enforced: `make lint` runs import-linter with the contracts in
pyproject.toml, and fails when a lower app imports a higher one. Each case copies the packages
and the contracts into a temporary directory, adds one import there, and runs the very command the
Makefile's `lint` target runs. No database is needed."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Every package the contracts analyse (explorer, missions, indicators, geographies, levelup_api).
PACKAGES = tuple(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"])


def lint_command() -> list[str]:
    """The import check from the Makefile's `lint` recipe, with $(BIN) as this interpreter's bin."""
    recipe = re.search(r"^lint:.*\n((?:\t.*\n)+)", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert recipe, "the Makefile has a lint target"
    line = next((x for x in recipe.group(1).splitlines() if "lint-imports" in x), None)
    assert line, "make lint runs lint-imports"
    return shlex.split(line.strip().replace("$(BIN)", str(Path(sys.executable).parent)))


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    # lint-imports reads the contracts from pyproject.toml in its working directory and analyses
    # the packages importable from there: the root, and only the root, on the path.
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run(lint_command(), cwd=root, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the packages and the contracts that a case may break."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "templates", "static", "node_modules")
    for package in PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package, ignore=ignore)
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_import(tree: Path, module: str, statement: str) -> None:
    path = tree / module
    path.write_text(path.read_text() + f"\n{statement}\n")


def test_the_tree_as_it_is_keeps_every_contract():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Contracts: \d+ kept, 0 broken", result.stdout)


def test_the_copy_keeps_every_contract_until_it_is_changed(tree):
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr


def test_geographies_importing_indicators_fails_lint_naming_the_import(tree):
    add_import(tree, "geographies/selectors.py", "import indicators.models  # noqa")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "geographies is not allowed to import indicators" in result.stdout
    assert "geographies.selectors -> indicators.models" in result.stdout


@pytest.mark.parametrize(("module", "statement", "says"), [
    # An import inside a function counts too: that is how the old GraphQL types reached upwards.
    ("geographies/graphql.py", "def later():\n    from missions.selectors import area_profile  # noqa",
     "geographies.graphql -> missions.selectors"),
    ("indicators/aggregation.py", "import missions.models  # noqa", "indicators.aggregation -> missions.models"),
    ("geographies/management/commands/load_geographies.py", "import indicators.services  # noqa",
     "geographies.management.commands.load_geographies -> indicators.services"),
    ("levelup_api/core/params.py", "import geographies.models  # noqa", "levelup_api.core.params -> geographies.models"),
    ("missions/selectors.py", "import levelup_api.schema  # noqa", "missions.selectors -> levelup_api.schema"),
])
def test_every_upward_import_fails_lint(tree, module, statement, says):
    add_import(tree, module, statement)
    result = lint_imports(tree)
    assert result.returncode != 0
    assert says in result.stdout


def test_a_new_module_of_levelup_api_must_be_placed_in_the_graph(tree):
    (tree / "levelup_api" / "helpers.py").write_text('"""Not in any layer yet."""\n')
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "levelup_api.helpers" in result.stdout


def test_a_higher_app_may_import_a_lower_one(tree):
    add_import(tree, "missions/selectors.py", "import geographies.services  # noqa")
    add_import(tree, "levelup_api/urls.py", "import missions.graphql  # noqa")
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr

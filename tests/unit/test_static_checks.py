"""The engine is type-checked in strict mode, the code base is lint-clean, and imports go one way."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def source_file(relative: str) -> Path:
    """A file of the checkout these tests run from (they live in it): missing, the checkout is broken."""
    path = ROOT / relative
    assert path.exists(), f"{path} is missing: the tests run from a whole checkout of the repository"
    return path


def test_mypy_strict() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(source_file("pyproject.toml"))],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compiled_modules_type_check_as_the_build_sees_them() -> None:
    """mypyc checks the modules it compiles in the build environment, where only the build
    requirements are installed: third-party imports are missing there (Any), which can turn code
    that passes the full check into an error (a conditional import redefining a name, say) and
    break the install. --no-site-packages gives mypy the build's view."""
    compiled = [f"src/predictex/{module}" for module in re.findall(r'^    "([a-z_/]+\.py)",$', source_file("native/setup.py").read_text(), re.M)]
    assert len(compiled) > 20
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "--no-site-packages",
         "--ignore-missing-imports", "--follow-imports=silent", *compiled],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    assert Path(ruff).exists(), "ruff is not installed: it comes with the test extra (pip install '.[server,test]')"
    result = subprocess.run([ruff, "check", "src", "tests", "bench", "native", "setup.py"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the direction of the imports (ARCHITECTURE.md): gateways -> server -> core, never back -------------

# each part of the package and the parts it may import ("" is the package root: predictex.__version__)
MAY_IMPORT: dict[str, set[str]] = {
    "core": set(),
    "journal": {"core"},
    "readmodel": {"core", "journal"},
    "accounts": {"core", "journal"},
    "surveillance": {"core", "journal"},
    "server": {"core", "journal", "readmodel", "accounts", "surveillance"},
    "gateways": {"core", "journal", "readmodel", "accounts", "surveillance", "server", ""},
    "app": {"core", "journal", "readmodel", "accounts", "surveillance", "server", "gateways"},
    "cluster": {"core", "journal", "readmodel", "accounts", "surveillance", "server", "gateways", "app"},
    "client": {""},
    "sim": {"client"},
    "cli": {"core", "journal", "readmodel", "accounts", "surveillance", "server", "gateways", "app", "client", "sim", "cluster", ""},
    "__main__": {"cli"},
    "__init__": set(),
}


def _imported_parts(path: Path) -> set[str]:
    """The parts of predictex a module imports, at any depth (imports inside functions count)."""
    parts: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.split(".")[0] == "predictex":
            names = [node.module] if node.module != "predictex" else [f"predictex.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.split(".")[0] == "predictex"]
        for name in names:
            second = name.split(".")[1] if "." in name else ""
            parts.add(second if second in MAY_IMPORT else "")
    return parts


def test_imports_go_one_way() -> None:
    package = source_file("src/predictex")
    wrong: list[str] = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).parts
        part = relative[0] if len(relative) > 1 else relative[0].removesuffix(".py")
        assert part in MAY_IMPORT, f"{path}: a new part of the package; say in MAY_IMPORT what it may import"
        for imported in _imported_parts(path) - MAY_IMPORT[part] - {part}:
            wrong.append(f"{path.relative_to(ROOT)} ({part}) imports predictex.{imported or '<root>'}")
    assert not wrong, "\n".join(wrong)


def test_the_import_check_sees_a_wrong_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from predictex.gateways.ids import Ids\n    import predictex.core.engine\n")
    assert _imported_parts(module) == {"gateways", "core"}


# --- no module imports itself in a circle ----------------------------------------------------------------

# Modules that refer to each other for types only, allowed to: the engine's data model, whose native
# classes point at each other (an order at its level, account and market; a level at its orders) and
# which mypyc compiles to direct field access only when each annotation names the concrete class.
TYPE_ONLY_CYCLES_ALLOWED = [
    {"predictex.core.book", "predictex.core.instruments", "predictex.core.ledger", "predictex.core.orders"},
]


def _module_graph(package: Path) -> dict[str, set[str]]:
    """Every module of the package and the modules it imports, those for type checking included.
    `from package import name` imports the submodule `name` when there is one, else the package."""
    modules: dict[str, Path] = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.startswith("predictex"):
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    found.add(submodule if submodule in modules else node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name in modules)
        graph[name] = {imported for imported in found if imported in modules and imported != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(component)
    return found


def test_no_modules_import_each_other_in_a_circle() -> None:
    package = ROOT / "src" / "predictex"
    cycles = [sorted(cycle) for cycle in _cycles(_module_graph(package)) if cycle not in TYPE_ONLY_CYCLES_ALLOWED]
    assert cycles == [], "modules importing each other in a circle (type-checking imports count too)"


def test_the_cycle_check_sees_a_circle_through_a_type_checking_import(tmp_path: Path) -> None:
    package = tmp_path / "predictex"
    (package / "fix").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "fix" / "__init__.py").write_text("")
    (package / "fix" / "acceptor.py").write_text("from predictex.fix import gateway\n")
    (package / "fix" / "gateway.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from predictex.fix.acceptor import C\n")
    (package / "fix" / "tags.py").write_text("from predictex.fix import acceptor\n")
    assert _cycles(_module_graph(package)) == [{"predictex.fix.acceptor", "predictex.fix.gateway"}]


# --- the gateways' surfaces share code through common modules, not through each other ------------------

SURFACES_APART: dict[str, set[str]] = {
    "predictex.gateways.rest.seed_v1": {"predictex.gateways.rest.kalshi_v2"},
    "predictex.gateways.rest.kalshi_v2": {"predictex.gateways.rest.seed_v1"},
    "predictex.gateways.ws": {"predictex.gateways.rest.kalshi_v2", "predictex.gateways.rest.seed_v1", "predictex.gateways.fix"},
    "predictex.gateways.fix": {"predictex.gateways.rest", "predictex.gateways.ws", "predictex.gateways.shapes"},
    "predictex.gateways.shapes": {"predictex.gateways.rest", "predictex.gateways.ws", "predictex.gateways.fix"},
    # the pages reach REST's handlers through the router (/web/api), never by importing a surface
    "predictex.gateways.web": {"predictex.gateways.rest.kalshi_v2", "predictex.gateways.rest.seed_v1", "predictex.gateways.ws",
                               "predictex.gateways.fix"},
}


def test_the_gateways_surfaces_do_not_import_each_other() -> None:
    package = ROOT / "src" / "predictex"
    wrong = [
        f"{module} imports {imported}"
        for module, imports in _module_graph(package).items()
        for part, forbidden in SURFACES_APART.items() if module == part or module.startswith(part + ".")
        for imported in imports if any(imported == f or imported.startswith(f + ".") for f in forbidden)
    ]
    assert wrong == []


def test_the_readme_starts_with_the_two_set_up_commands() -> None:
    readme = source_file("README.md")
    text = readme.read_text(encoding="utf-8")
    blocks = text.split("```")[1::2]  # the fenced blocks, in order
    serve, test = (block.strip() for block in blocks[:2])
    assert serve == "python3 -m venv .venv && .venv/bin/pip install '.[server]' && .venv/bin/predictex serve"
    assert test == "python3 -m venv .venv && .venv/bin/pip install '.[server,test]' && .venv/bin/python -m pytest"
    assert text.index("<!-- test-command -->") < text.index(test)  # the line .ci/run reads
    assert "## " not in text[: text.index(test)]  # nothing comes before them but the title and a line each


# --- units: the scales of prices, counts and money are written in core/units.py alone ------------------

# core/units.py holds the engine's scales and every conversion to a wire format; client/units.py is the
# SDK's own copy of the wire's fixed-point scales (the SDK installs without the server, so it may not
# import core: MAY_IMPORT). Anywhere else a scale is a named constant from core/units.py.
UNITS_MODULES = {"core/units.py", "client/units.py"}
SCALE_LITERALS = {100, 10_000, 1_000_000, 100_000_000}
# multiplications and divisions by such a number that are about something else than money, each checked
SCALE_LITERALS_ALLOWED = {
    ("accounts/_common.py", "time.time_ns() // 1000000"),  # nanoseconds to milliseconds
    ("client/signing.py", "time.time_ns() // 1000000"),
    ("client/fix.py", "time.time_ns() // 1000000"),
    ("gateways/fix/acceptor.py", "time.time_ns() // 1000000"),
    ("server/clock.py", "time.time_ns() // 1000000"),
    ("accounts/signing.py", "year_of_era // 100"),  # the Gregorian calendar's centuries
    ("accounts/signing.py", "year % 100"),
    ("journal/faulty.py", "len(batch.data) * self.torn_fraction_percent // 100"),  # a percentage
}
UNIT_NAME = re.compile(r"(ONE_DOLLAR|ONE_CENT|ONE_CONTRACT|CENTICENT|MICRODOLLAR|CENTICONTRACT|SCALE)")


def _scale_arithmetic(package: Path) -> list[str]:
    """Arithmetic with a bare scale (x 100, // 10_000 ...) whose other operand is not a core/units.py
    constant, and unit constants defined outside the units modules."""
    found: list[str] = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative in UNITS_MODULES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.FloorDiv, ast.Div, ast.Mod)):
                sides = (node.left, node.right)
                scaled = [s for s in sides if isinstance(s, ast.Constant) and type(s.value) is int and s.value in SCALE_LITERALS]
                others = [s for s in sides if s not in scaled]
                if scaled and not any(isinstance(o, ast.Name) and UNIT_NAME.search(o.id) for o in others) \
                        and (relative, ast.unparse(node)) not in SCALE_LITERALS_ALLOWED:
                    found.append(f"{relative}:{node.lineno}: {ast.unparse(node)}")
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
            for target in targets:
                if isinstance(target, ast.Name) and re.search(r"ONE_DOLLAR|ONE_CENT|ONE_CONTRACT|^SCALE$", target.id) \
                        and isinstance(node.value, ast.Constant):
                    found.append(f"{relative}:{node.lineno}: defines {target.id} (core/units.py has it)")
    return found


def test_money_scales_are_written_in_the_units_module_only() -> None:
    assert _scale_arithmetic(source_file("src/predictex")) == []


def test_the_scale_check_sees_an_inline_conversion_and_a_second_dollar(tmp_path: Path) -> None:
    (tmp_path / "gateways").mkdir()
    (tmp_path / "gateways" / "shape.py").write_text(
        "ONE_DOLLAR = 10_000\ndef cents(price):\n    return price // 100\n"
        "def fine(n):\n    return n * MONEY_ONE_DOLLAR_MICRODOLLARS\n")
    assert _scale_arithmetic(tmp_path) == ["gateways/shape.py:1: defines ONE_DOLLAR (core/units.py has it)",
                                           "gateways/shape.py:3: price // 100"]


# --- refusals reach the gateways as data: no gateway parses text with a regular expression --------------

# The modules that may use `re`, each for a syntax of the wire it reads, never for an engine's message
# (a refusal's code, subject and number are fields of core.rejects.Reject).
REGEX_ALLOWED = {
    "gateways/rest/wire.py",  # Kalshi's fixed-point strings
    "gateways/rest/openapi.py",  # {parameters} of route patterns
    "gateways/fix/codec.py",  # FIX data fields in a frame
    "gateways/fix/dictionary.py",  # FIX field types
    "server/http.py",  # the Host header's syntax
}


def _regex_users(package: Path, parts: tuple[str, ...]) -> set[str]:
    users: set[str] = set()
    for part in parts:
        for path in sorted((package / part).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            if any((isinstance(node, ast.Import) and any(alias.name == "re" for alias in node.names))
                   or (isinstance(node, ast.ImportFrom) and node.module == "re") for node in ast.walk(tree)):
                users.add(path.relative_to(package).as_posix())
    return users


def test_no_gateway_reads_a_refusal_back_out_of_its_text() -> None:
    assert _regex_users(source_file("src/predictex"), ("gateways", "server", "cli", "client", "readmodel")) <= REGEX_ALLOWED


# --- a test that cannot run fails, saying what it needs; it does not skip ---------------------------------

# The only skips: a check that does not apply to this run, or a peer that is optional by design.
SKIPS_ALLOWED = {
    "tests/test_pure_build.py",  # the run is already on the pure build
    "tests/sim/test_differential.py",  # the optional peer engines of the differential test (bench/peers.py)
}


def test_tests_fail_rather_than_skip_when_something_is_missing() -> None:
    skipping: set[str] = set()
    for path in sorted(source_file("tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("skip", "skipif", "importorskip") \
                    and isinstance(node.value, (ast.Name, ast.Attribute)) and ast.unparse(node.value) in ("pytest", "pytest.mark"):
                skipping.add(path.relative_to(ROOT).as_posix())
    assert skipping <= SKIPS_ALLOWED, "tests that skip when something is missing (make them fail, naming what to install)"


# --- domain values: the core's names, never their strings, outside the core ------------------------------

# A market's status and an order's status, time in force, action and close reason are the core's enums
# (core/instruments.py's MarketStatus, core/orders.py's); everywhere else compares them by those names,
# never by a string literal, so that a value's wire spelling stays an edge's business. The SDK, the
# command line and the simulator (a client of the SDK) are edges: they compare what the wire says.
DOMAIN_FIELDS = {"status", "previous_status", "reason", "close_reason", "time_in_force", "action"}
DOMAIN_VALUES_DEFINED_IN = {"core/instruments.py", "core/orders.py"}
EDGES = ("client/", "cli/", "sim/")
# A list of three market statuses is a surface spelling the lifecycle itself (two words such as
# "active" and "closed" are common to other vocabularies: FIX session states, incentive programs).
MARKET_STATUSES_SPELLED_MAX = 2


def _domain_values() -> set[str]:
    from predictex.core import instruments, orders

    values = {member.value for member in instruments.MarketStatus}
    for kind in (orders.OrderStatus, orders.TimeInForce, orders.Action, orders.CloseReason):
        values |= {member.value for member in kind if member.value}
    return values


def _outside_the_core(package: Path) -> Iterator[tuple[str, ast.AST]]:
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative in DOMAIN_VALUES_DEFINED_IN or relative.startswith(EDGES):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            yield relative, node


def _domain_literals(package: Path, values: set[str]) -> list[str]:
    found: list[str] = []
    for relative, node in _outside_the_core(package):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        if not any(isinstance(side, ast.Attribute) and side.attr in DOMAIN_FIELDS for side in sides):
            continue
        literals = [element for side in sides for element in (side.elts if isinstance(side, (ast.Tuple, ast.Set, ast.List)) else [side])
                    if isinstance(element, ast.Constant) and element.value in values]
        if literals:
            found.append(f"{relative}:{node.lineno}: {ast.unparse(node)}")
    return found


def _market_statuses_spelled(package: Path) -> list[str]:
    """Where a module outside the core writes market statuses itself: a `status` given a status
    word (a keyword argument, a dict entry, an assignment), or a list of several of them."""
    from predictex.core.instruments import MarketStatus

    words = {member.value for member in MarketStatus}

    def is_word(node: ast.AST | None) -> bool:
        return isinstance(node, ast.Constant) and node.value in words

    found: list[tuple[str, int, str]] = []
    for relative, node in _outside_the_core(package):
        written = False
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            spelled = {element.value for element in node.elts if isinstance(element, ast.Constant) and element.value in words}
            written = len(spelled) > MARKET_STATUSES_SPELLED_MAX
        elif isinstance(node, ast.keyword):
            written = node.arg is not None and node.arg.endswith("status") and is_word(node.value)
        elif isinstance(node, ast.Dict):
            written = any(isinstance(key, ast.Constant) and str(key.value).endswith("status") and is_word(value)
                          for key, value in zip(node.keys, node.values, strict=True))
        elif isinstance(node, ast.Assign):
            written = is_word(node.value) and any(ast.unparse(target).endswith("status") for target in node.targets)
        if written:
            found.append((relative, getattr(node, "lineno", 0), ast.unparse(node)))
    return [f"{relative}:{line}: {text}" for relative, line, text in sorted(found)]


def test_domain_values_are_compared_by_the_cores_names() -> None:
    values = _domain_values()
    assert {"finalized", "resting", "good_till_canceled", "buy", "self_trade_maker"} <= values
    assert _domain_literals(source_file("src/predictex"), values) == []


def test_the_domain_value_check_sees_a_status_written_as_a_string(tmp_path: Path) -> None:
    (tmp_path / "readmodel").mkdir()
    (tmp_path / "readmodel" / "view.py").write_text(
        "def settled(market):\n    return market.status == 'finalized'\n"
        "def fine(market, query):\n    return market.status == FINALIZED or query in ('resting', 'all')\n")
    assert _domain_literals(tmp_path, _domain_values()) == ["readmodel/view.py:2: market.status == 'finalized'"]


def test_no_surface_spells_market_statuses_itself() -> None:
    assert _market_statuses_spelled(source_file("src/predictex")) == []


def test_the_market_status_check_sees_a_surface_spelling_them(tmp_path: Path) -> None:
    (tmp_path / "gateways").mkdir()
    (tmp_path / "gateways" / "page.py").write_text(
        "STATUSES = ('initialized', 'active', 'closed')\n"
        "def shape(m):\n    return {'status': 'closed', 'title': m.title}\n"
        "def paused(view):\n    view.status = 'inactive'\n    return render(market_status='active')\n"
        "FIX_SESSION = ('active', 'closed')\n"
        "def fine(view):\n    return {'status': view.status, 'state': 'closed'}\n")
    assert _market_statuses_spelled(tmp_path) == [
        "gateways/page.py:1: ('initialized', 'active', 'closed')",
        "gateways/page.py:3: {'status': 'closed', 'title': m.title}",
        "gateways/page.py:5: view.status = 'inactive'",
        "gateways/page.py:6: market_status='active'",
    ]

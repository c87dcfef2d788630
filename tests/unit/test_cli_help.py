"""Every `predictex` subcommand says what it does: a walk of the whole argparse tree finds a help line
for every command, subcommand and argument, `--help` works at every level, and every command that can
be run has something to run."""

from __future__ import annotations

import argparse
import contextlib
import io
from collections.abc import Iterator

import pytest

from predictex.cli.main import build_parser

Path_ = tuple[str, ...]


def _commands(parser: argparse.ArgumentParser, path: Path_ = ("predictex",)) -> Iterator[tuple[Path_, argparse.ArgumentParser, str | None]]:
    """(path, parser, the help its parent lists for it) for the top parser and every subcommand below it."""
    yield path, parser, "top"
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            listed = {choice.dest: choice.help for choice in action._choices_actions}
            for name, child in action.choices.items():
                for found in _commands(child, (*path, name)):
                    yield found if found[0] != (*path, name) else ((*path, name), child, listed.get(name))


COMMANDS = list(_commands(build_parser()))


def test_the_tree_is_walked() -> None:
    paths = {" ".join(path) for path, _, _ in COMMANDS}
    assert {"predictex serve", "predictex admin market determine", "predictex admin credentials reset", "predictex keys list",
            "predictex markets show", "predictex journal verify", "predictex profile set"} <= paths
    assert len(paths) > 50


@pytest.mark.parametrize(("path", "parser", "listed"), COMMANDS, ids=[" ".join(c[0][1:]) or "predictex" for c in COMMANDS])
def test_every_command_and_argument_has_help(path: Path_, parser: argparse.ArgumentParser, listed: str | None) -> None:
    assert listed, f"`{' '.join(path)}` has no help line in its parent's list"
    missing = [action.option_strings[0] if action.option_strings else action.dest for action in parser._actions
               if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)) and not action.help]
    assert not missing, f"`{' '.join(path)}`: arguments without help: {missing}"
    runnable = not any(isinstance(action, argparse._SubParsersAction) for action in parser._actions)
    if runnable:
        assert callable(parser.get_default("handler")), f"`{' '.join(path)}` has nothing to run"


@pytest.mark.parametrize("path", [c[0] for c in COMMANDS], ids=[" ".join(c[0][1:]) or "predictex" for c in COMMANDS])
def test_help_prints_at_every_level(path: Path_) -> None:
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown), pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*path[1:], "--help"])
    assert exited.value.code == 0
    assert shown.getvalue().startswith(f"usage: {' '.join(path)}")


# --- numbers on the command line are checked where they are read ---------------------------------------

# a bare int/float type lets a negative limit or a zero timeout through to fail deep inside a command
# with Python's words ("Stop argument for islice() must be ..."); these check their own range instead
# serve (and a cluster node and a gateway, which take serve's options) checks it with the other start-up settings
UNCHECKED_NUMBERS_ALLOWED = {("predictex serve", "--port"), ("predictex cluster node", "--port"), ("predictex gateway", "--port")}


def test_every_number_argument_is_checked_when_parsed() -> None:
    unchecked = [(" ".join(path), action.option_strings[0] if action.option_strings else action.dest)
                 for path, parser, _ in COMMANDS for action in parser._actions if action.type in (int, float)]
    assert set(unchecked) <= UNCHECKED_NUMBERS_ALLOWED


@pytest.mark.parametrize(("arguments", "says"), [
    (["fills", "--limit", "-1"], "argument --limit: '-1' is not a whole number of at least 0 (0: all)"),
    (["markets", "list", "--limit", "x"], "argument --limit: 'x' is not a whole number of at least 0 (0: all)"),
    (["markets", "show", "T", "--depth", "0"], "argument --depth: '0' is not a whole number of at least 1"),
    (["markets", "show", "T", "--watch", "--updates", "-1"], "argument --updates: '-1' is not a whole number of at least 0 (0: until Ctrl-C)"),
    (["balance", "--timeout", "0"], "argument --timeout: '0' is not a number of seconds greater than 0, such as 10 or 2.5"),
    (["balance", "--timeout", "nan"], "argument --timeout: 'nan' is not a number of seconds greater than 0, such as 10 or 2.5"),
    (["journal", "export", "--after", "-3"], "argument --after: '-3' is not a whole number of at least 0"),
])
def test_a_number_out_of_range_is_refused_saying_what_is_accepted(arguments: list[str], says: str) -> None:
    told = io.StringIO()
    with contextlib.redirect_stderr(told), pytest.raises(SystemExit) as exited:
        build_parser().parse_args(arguments)
    assert exited.value.code == 2
    assert told.getvalue().splitlines()[-1].endswith(f"error: {says}")


def test_numbers_in_range_are_read() -> None:
    parsed = build_parser().parse_args(["markets", "show", "T", "--depth", "3", "--updates", "0", "--timeout", "2.5"])
    assert (parsed.depth, parsed.updates, parsed.timeout) == (3, 0, 2.5)

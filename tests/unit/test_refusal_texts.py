"""No refusal says the same thing twice.

Every gateway writes a refusal as its own prefix, then the engine's detail: REST as `message` and
`details` (which the SDK and the command line join as "message: details"), FIX as Text(58)'s
"CODE: detail", an authentication failure as its reason then its message. A detail that restates its
prefix reads "trading is paused: market X is paused". This test walks the catalogue (every refusal
the core raises, every authentication failure the accounts package returns, each with the prefix each
gateway puts before it) and fails on a detail whose first clause repeats the prefix: two of its
words, or its last word (what it says: "paused", "balance", "exists").
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from predictex.accounts.signing import AuthReason
from predictex.core.rejects import RejectCode
from predictex.gateways.fix import errors as fix_errors
from predictex.gateways.rest import errors as rest_errors

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "predictex"
NOT_WORDS = frozenset({
    "a", "an", "and", "as", "at", "be", "been", "by", "for", "has", "have", "in", "is", "it", "its", "must", "no", "not",
    "of", "on", "or", "s", "than", "that", "the", "this", "to", "with", "your",
})


def _prefix_words(text: str) -> list[str]:
    """A prefix's words in order ("TRADING_PAUSED" and "trading is paused" alike)."""
    return [word for word in re.split(r"[^a-z0-9]+", text.lower()) if word and word not in NOT_WORDS]


def _first_clause_words(text: str) -> set[str]:
    """The words of a detail up to its first colon or semicolon; a field name (`buy_max_cost`) is one word."""
    clause = re.split(r"[:;]", text, maxsplit=1)[0]
    return {word for word in re.split(r"[^a-z0-9_]+", clause.lower()) if word and word not in NOT_WORDS}


def repeats(prefix: str, detail: str) -> bool:
    said, again = _prefix_words(prefix), _first_clause_words(detail)
    return len(set(said) & again) >= 2 or (bool(said) and said[-1] in again)


def _text(node: ast.AST) -> str:
    """A detail as written in the source, with a blank where a value goes."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(value) if isinstance(value, ast.Constant) else " X " for value in node.values)
    if isinstance(node, ast.BinOp):
        return _text(node.left) + _text(node.right)
    return " X "


def _calls(folder: Path, names: set[str]) -> list[tuple[str, ast.Call]]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names and node.args:
                found.append((f"{folder.name}/{path.relative_to(folder).as_posix()}:{node.lineno}", node))
    return found


def engine_refusals(folder: Path) -> list[tuple[str, RejectCode, str]]:
    """(where, code, detail) of every `Rejected(RejectCode.X, detail)` and `naming(RejectCode.X, before, subject,
    number, after)` in the folder."""
    found = []
    for where, call in _calls(folder, {"Rejected", "naming"}):
        code = call.args[0]
        if not (isinstance(code, ast.Attribute) and code.attr in RejectCode.__members__) or len(call.args) < 2:
            continue
        if call.func.id == "naming":  # type: ignore[attr-defined]
            detail = _text(call.args[1]) + " 7 " + (_text(call.args[4]) if len(call.args) > 4 else "")
        else:
            detail = _text(call.args[1])
        found.append((where, RejectCode[code.attr], detail))
    return found


def auth_failures(folder: Path) -> list[tuple[str, AuthReason, str]]:
    found = []
    for where, call in _calls(folder, {"AuthFailure"}):
        reason = call.args[0]
        if isinstance(reason, ast.Attribute) and reason.attr in AuthReason.__members__ and len(call.args) > 1:
            found.append((where, AuthReason[reason.attr], _text(call.args[1])))
    return found


def _said_twice() -> list[str]:
    found = []
    for where, code, detail in engine_refusals(PACKAGE / "core"):
        rest_details = rest_errors._DETAILS.get(code, detail)  # what REST sends in place of the engine's detail
        for gateway, prefix, text in (("REST", rest_errors._TABLE[code][2], rest_details), ("FIX", fix_errors._TABLE[code][2], detail)):
            if repeats(prefix, text):
                found.append(f"{where} {gateway}: {prefix}: {text.strip()}")
    for where, reason, message in auth_failures(PACKAGE / "accounts"):
        if repeats(reason.value, message):
            found.append(f"{where}: {reason.value}: {message.strip()}")
    return found


def test_the_catalogue_is_walked() -> None:
    codes = {code for _, code, _ in engine_refusals(PACKAGE / "core")}
    assert len(codes) >= len(RejectCode) - 2, f"refusals the walk did not find: {set(RejectCode) - codes}"
    assert {reason for _, reason, _ in auth_failures(PACKAGE / "accounts")} >= {AuthReason.BAD_SIGNATURE, AuthReason.UNKNOWN_KEY}


def test_no_refusal_says_its_prefix_twice() -> None:
    assert _said_twice() == []


def test_the_check_sees_a_detail_that_repeats_its_prefix(tmp_path: Path) -> None:
    assert repeats("trading is paused", "market KX is paused: only cancels are accepted")
    assert repeats("INSUFFICIENT_BALANCE", "insufficient balance: need $6.50, have $3.20")
    assert repeats("order group limit reached", "order group 7 hit its limit")
    assert not repeats("trading is paused", "KX takes only cancels until it resumes: paused at 10:00")
    assert not repeats("insufficient balance", "need $6.50, have $3.20")
    assert not repeats("buy max cost exceeded", "filling 10 takes $7, above buy_max_cost $5")
    (tmp_path / "trading.py").write_text(
        "def check(m):\n"
        "    raise Rejected(RejectCode.MARKET_PAUSED, f'market {m.ticker} is paused')\n"
        "def group(n):\n"
        "    raise naming(RejectCode.ORDER_GROUP_LIMIT, 'order group ', Subject.ORDER_GROUP, n, ' hit its limit')\n")
    assert engine_refusals(tmp_path) == [
        (f"{tmp_path.name}/trading.py:2", RejectCode.MARKET_PAUSED, "market  X  is paused"),
        (f"{tmp_path.name}/trading.py:4", RejectCode.ORDER_GROUP_LIMIT, "order group  7  hit its limit"),
    ]

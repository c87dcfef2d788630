"""The pure domain: units, commands, events, rejects, books, matching, ledger, fees, lifecycle and
settlement. Imports nothing outside `predictex.core`; does no I/O; reads no clock."""

from predictex.core.engine import Engine, Outcome
from predictex.core.invariants import check_invariants
from predictex.core.rejects import InvariantViolation, Reject, RejectCode

__all__ = ["Engine", "InvariantViolation", "Outcome", "Reject", "RejectCode", "check_invariants"]

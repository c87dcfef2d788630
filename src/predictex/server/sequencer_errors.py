"""What the sequencer refuses with. A module of their own, in plain Python: the sequencer is
compiled with mypyc, which makes native classes of subclasses of Exception and ValueError (and a few
more) but refuses those of RuntimeError ("Inheriting from most builtin types is unimplemented"), and
SequencerStopped and SequencerBusy are RuntimeErrors, as callers expect."""

from __future__ import annotations


class SequencerStopped(RuntimeError):
    """The sequencer is not taking commands (stopping, stopped, or failed)."""


class SequencerFailed(SequencerStopped):
    """The journal failed: the command may or may not be durable, and was not acknowledged."""


class SequencerBusy(RuntimeError):
    """Too many commands are waiting; try again shortly."""


class UnjournalableCommand(ValueError):
    """The command holds a value the journal cannot store (an integer beyond 64 bits): it is refused
    before the engine sees it, and nothing changes."""

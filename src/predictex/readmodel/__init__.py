"""The read model: what gateways read. Live state in memory and history in SQL, both built from
committed events only, so reads never show anything the journal could still lose."""

from predictex.readmodel.live import LiveState
from predictex.readmodel.model import ReadModel

__all__ = ["LiveState", "ReadModel"]

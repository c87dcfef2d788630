"""What gateways share: the read model, the sequencer, the fan-out bus, accounts, ids, the clock and
configuration, gathered by the app in one object so each gateway receives exactly one thing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from predictex.journal.base import JournalStore
from predictex.readmodel.live import LiveState
from predictex.readmodel.model import ReadModel
from predictex.server.bus import Bus
from predictex.server.clock import Clock
from predictex.server.ids import Ids
from predictex.server.sequencer import Sequencer
from predictex.surveillance.monitor import Surveillance

if TYPE_CHECKING:
    from predictex.server.config import Config


class Exchange:
    def __init__(
        self, config: Config, store: JournalStore, readmodel: ReadModel, sequencer: Sequencer, accounts: Any,
        ids: Ids, clock: Clock, metrics: Any, bus: Bus | None = None, surveillance: Surveillance | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.readmodel = readmodel
        self.sequencer = sequencer
        self.accounts = accounts
        self.ids = ids
        self.clock = clock
        self.metrics = metrics
        self.bus = bus or Bus()
        self.surveillance = surveillance  # the surveillance consumer (None in tests that build an Exchange by hand)

    @property
    def live(self) -> LiveState:
        return self.readmodel.live

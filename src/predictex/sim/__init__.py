"""The market simulator: a living demo exchange, and scenarios for bot developers.

- `latent.py`: each event's hidden underlying (a random walk with news jumps) and every market's fair
  probability p_t = Φ(X_t / (sigma·√(T-t))), which goes to 0 or 1 at the close and decides the result.
- `schedule.py`: rolling series whose dated events and markets open, close and settle on their own.
- `agents.py`: the traders' decisions (market makers in the spirit of Avellaneda-Stoikov, noise
  takers, informed takers, a slow amender), pure functions of what they see and their own seeded
  random numbers: the same seed and market data give the same decisions.
- `simulation.py`: the loop that ties them to a `Venue`; `network.py`: the venue that is a real
  exchange, reached over REST and the WebSocket with the project's SDK (`predictex.client`), so the
  simulated traders meet the same risk checks, rate limits and journal as anyone's bot.
- `config.py`: the scenario file (TOML): agents, sizes, spreads, rates, volatility, scripted events.

The simulator never reaches inside the engine: it may import only the SDK.
"""

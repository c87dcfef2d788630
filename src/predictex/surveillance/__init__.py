"""Market surveillance: detectors of wash trading, spoofing and layering, marking the close and unusual
concentration (`detectors`), run as a consumer of committed events, never in the order path
(`monitor`), with thresholds from configuration (`config`); and the liquidity incentive programs' scoring
by replay of the journal (`incentives`). Nothing is imported here: the command line reads `config`
without the server's dependencies."""

// The markets page: every row follows Kalshi's public `ticker` channel (all markets). The ticker
// message carries the total volume, not the 24 h volume: when a market's volume moves, its row's
// 24 h volume is read again from GET /trade-api/v2/markets (the markets that moved meanwhile in one
// request), so it changes with every trade. Nothing is polled.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const rows = new Map();
  document.querySelectorAll("tr[data-ticker]").forEach((row) => rows.set(row.dataset.ticker, row));
  const set = (row, name, text) => { const cell = row.querySelector("." + name); if (cell && text !== undefined) cell.textContent = text; };
  const moved = new Set();
  const TICKERS_PER_READ = 50;
  const refreshVolumes = px.refresher(async () => {
    while (moved.size) {
      const tickers = Array.from(moved).slice(0, TICKERS_PER_READ);
      tickers.forEach((t) => moved.delete(t));
      const query = new URLSearchParams({tickers: tickers.join(","), limit: String(TICKERS_PER_READ)});
      const answer = await px.api("GET", "/trade-api/v2/markets?" + query.toString());
      for (const m of answer.markets) {
        const row = rows.get(m.ticker);
        if (!row) continue;
        set(row, "volume", m.volume_24h_fp);
        row.dataset.volumeUpdated = String(Date.now());
      }
    }
  });
  px.live([{channels: ["ticker"]}], (message) => {
    if (message.type !== "ticker") return;
    const m = message.msg;
    const row = rows.get(m.market_ticker);
    if (!row) return;
    set(row, "yes-bid", m.yes_bid_dollars);
    set(row, "yes-ask", m.yes_ask_dollars);
    set(row, "last", m.price_dollars);
    set(row, "oi", m.open_interest_fp);
    if (m.volume_fp !== undefined && row.dataset.volume !== m.volume_fp) {
      row.dataset.volume = m.volume_fp;  // the total when the page was made, then as the ticker says
      moved.add(m.market_ticker);
      refreshVolumes();
    }
    row.dataset.updated = String(m.ts_ms);
  });
});

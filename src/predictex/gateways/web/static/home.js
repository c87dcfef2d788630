// The markets page: every row follows Kalshi's public `ticker` channel (all markets).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const rows = new Map();
  document.querySelectorAll("tr[data-ticker]").forEach((row) => rows.set(row.dataset.ticker, row));
  const set = (row, name, text) => { const cell = row.querySelector("." + name); if (cell && text !== undefined) cell.textContent = text; };
  px.live([{channels: ["ticker"]}], (message) => {
    if (message.type !== "ticker") return;
    const m = message.msg;
    const row = rows.get(m.market_ticker);
    if (!row) return;
    set(row, "yes-bid", m.yes_bid_dollars);
    set(row, "yes-ask", m.yes_ask_dollars);
    set(row, "last", m.price_dollars);
    set(row, "oi", m.open_interest_fp);
    row.dataset.updated = String(m.ts_ms);
  });
});

// The portfolio: the summary from the read model (/web/portfolio/summary), the lists from the REST API,
// read again whenever the WebSocket reports one of the member's orders, fills or positions.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const text = (id, value) => { document.getElementById(id).textContent = value; };
  const rows = (id, items, cells) => {
    const body = document.getElementById(id);
    body.replaceChildren();
    for (const item of items) {
      const tr = document.createElement("tr");
      cells(item).forEach(([value, className]) => px.cell(tr, value, className));
      body.appendChild(tr);
    }
    return body;
  };
  const refreshSummary = px.refresher(async () => {
    const s = await px.api("GET", "/web/portfolio/summary");
    text("sum-cash", "$" + s.cash); text("sum-positions", "$" + s.positions_value); text("sum-locked", "$" + s.locked);
    text("sum-pending", "$" + s.pending_withdrawal); text("sum-total", "$" + s.total);
    const body = document.getElementById("position-rows");
    body.replaceChildren();
    for (const p of s.positions) {
      const tr = document.createElement("tr");
      tr.dataset.ticker = p.ticker;
      const link = document.createElement("a");
      link.href = "/markets/" + encodeURIComponent(p.ticker);
      link.textContent = p.title;
      px.cell(tr, "").appendChild(link);
      px.cell(tr, p.side);
      [p.contracts, "$" + p.cost, "$" + p.value, "$" + p.unrealized_pnl, "$" + p.realized_pnl, "$" + p.fees_paid].forEach((v) => px.cell(tr, v, "num"));
      body.appendChild(tr);
    }
    document.getElementById("summary").dataset.seq = String(s.seq);
  });
  const refreshOrders = px.refresher(async () => {
    const answer = await px.api("GET", "/trade-api/v2/portfolio/orders?status=resting&limit=200");
    const body = document.getElementById("open-rows");
    body.replaceChildren();
    for (const o of answer.orders) {
      const tr = document.createElement("tr");
      tr.dataset.orderId = o.order_id;
      px.cell(tr, o.ticker);
      px.cell(tr, o.action + " " + o.side.toUpperCase());
      px.cell(tr, o.side === "yes" ? o.yes_price_dollars : o.no_price_dollars, "num");
      px.cell(tr, o.remaining_count_fp, "num");
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.textContent = "Cancel";
      cancel.setAttribute("aria-label", "Cancel order " + o.order_id);
      cancel.addEventListener("click", async () => {
        try { await px.api("DELETE", "/trade-api/v2/portfolio/orders/" + o.order_id); } catch (e) { text("live-status", e.message); }
      });
      px.cell(tr, "").appendChild(cancel);
      body.appendChild(tr);
    }
  });
  const refreshLists = px.refresher(async () => {
    const fills = await px.api("GET", "/trade-api/v2/portfolio/fills?limit=50");
    rows("fill-rows", fills.fills, (f) => [[new Date(f.created_time).toLocaleString()], [f.ticker], [f.action + " " + f.side.toUpperCase()],
      [f.side === "yes" ? f.yes_price_dollars : f.no_price_dollars, "num"], [f.count_fp, "num"], ["$" + f.fee_cost, "num"]]);
    const settlements = await px.api("GET", "/trade-api/v2/portfolio/settlements?limit=50");
    rows("settlement-rows", settlements.settlements, (s) => [[new Date(s.settled_time).toLocaleString()], [s.ticker],
      [s.market_result], ["$" + s.revenue_dollars, "num"], ["$" + s.fee_cost, "num"]]);
    const transfers = await px.api("GET", "/predictex/v1/transfers");
    // a liquidity incentive program's reward is a deposit referenced incentive_program:<id> (Kalshi has no rewards endpoint)
    const reward = (t) => t.kind === "deposit" && (t.reference || "").startsWith("incentive_program:");
    rows("transfer-rows", transfers.transfers, (t) => [[new Date(t.created_time).toLocaleString()],
      [reward(t) ? "incentive reward" : t.kind], [t.status], ["$" + t.amount_dollars, "num"],
      [reward(t) ? "program " + t.reference.slice("incentive_program:".length) : (t.reference || "")]]);
  });
  const play = document.getElementById("play-money");
  if (play) {
    play.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const answer = await px.api("POST", "/predictex/v1/demo/deposits", {amount_dollars: play.elements.amount_dollars.value});
        text("play-result", "Cash now $" + answer.balance_dollars);
      } catch (e) { text("play-result", e.message); }
      refreshSummary(); refreshLists();
    });
  }
  function everything() { refreshSummary(); refreshOrders(); refreshLists(); }
  px.live([{channels: ["user_orders", "fill", "market_positions"]}, {channels: ["ticker"]}], (message) => {
    if (message.type === "user_order") { refreshOrders(); refreshSummary(); }
    if (message.type === "fill" || message.type === "market_position") { refreshSummary(); refreshLists(); }
    if (message.type === "ticker") refreshSummary();
  }, everything);
});

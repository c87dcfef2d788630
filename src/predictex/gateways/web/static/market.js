// A market's page. The book shown is the answer of GET /trade-api/v2/markets/{ticker}/orderbook (with
// its seq), read again whenever the WebSocket says the book changed; trades, orders and the position
// likewise come from the REST API, refreshed on the WebSocket's word. Nothing is polled.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("market");
  const ticker = root.dataset.ticker;
  const series = root.dataset.series;
  const member = root.dataset.member === "yes";
  const path = encodeURIComponent(ticker);
  let bookView = "yes";
  let lastBook = null;

  // --- the book -----------------------------------------------------------------------------
  function drawBook() {
    const rows = document.getElementById("book-rows");
    rows.replaceChildren();
    if (!lastBook) return;
    const book = lastBook.orderbook_fp;
    // YES view: YES bids are the "yes" levels, YES asks are the NO bids seen at 1 - p. NO view: mirrored.
    const bidsFp = bookView === "yes" ? book.yes_dollars : book.no_dollars;
    const otherFp = bookView === "yes" ? book.no_dollars : book.yes_dollars;
    const asks = (otherFp || []).map(([price, size]) => [(1 - Number(price)).toFixed(4), size]);
    const bids = (bidsFp || []).slice().reverse();
    let depth = 0;
    const askRows = asks.slice().reverse().map(([price, size]) => ({side: "ask", price, size}));
    askRows.reverse().forEach((r) => { depth += Number(r.size); r.depth = depth; });
    askRows.reverse();
    depth = 0;
    const bidRows = bids.map(([price, size]) => { depth += Number(size); return {side: "bid", price, size, depth}; });
    if (!askRows.length && !bidRows.length) {
      const tr = document.createElement("tr");
      px.cell(tr, "The book is empty.").colSpan = 4;
      rows.appendChild(tr);
    }
    for (const r of askRows.concat(bidRows)) {
      const tr = document.createElement("tr");
      tr.className = r.side;
      tr.dataset.price = r.price;
      px.cell(tr, r.side === "ask" ? "sell " + bookView.toUpperCase() : "buy " + bookView.toUpperCase());
      px.cell(tr, r.price, "num");
      px.cell(tr, r.size, "num");
      px.cell(tr, r.depth.toFixed(2), "num");
      rows.appendChild(tr);
    }
    document.getElementById("book-seq").textContent = "seq " + lastBook.seq;
    document.getElementById("book").dataset.seq = String(lastBook.seq);
    markReady();
  }
  // When the page first shows a live book (a book drawn and the socket open), in ms since navigation
  // began: what bench/web.py reads as "navigation to a live book".
  function markReady() {
    if (!document.body.dataset.liveBookMs && lastBook && document.body.dataset.live === "yes") {
      document.body.dataset.liveBookMs = String(Math.round(performance.now()));
    }
  }
  const refreshBook = px.refresher(async () => {
    lastBook = await px.api("GET", "/trade-api/v2/markets/" + path + "/orderbook");
    drawBook();
  });
  document.querySelectorAll("[data-view]").forEach((tab) => tab.addEventListener("click", () => {
    bookView = tab.dataset.view;
    document.querySelectorAll("[data-view]").forEach((t) => t.setAttribute("aria-selected", String(t === tab)));
    document.getElementById("book-caption").textContent = bookView === "yes"
      ? "Buying YES (bids) and selling YES (asks), best in the middle"
      : "Buying NO (bids) and selling NO (asks), best in the middle";
    drawBook();
  }));

  // --- trades and candles -------------------------------------------------------------------
  const refreshTrades = px.refresher(async () => {
    const answer = await px.api("GET", "/trade-api/v2/markets/trades?ticker=" + path + "&limit=20");
    const rows = document.getElementById("trade-rows");
    rows.replaceChildren();
    for (const t of answer.trades) {
      const tr = document.createElement("tr");
      px.cell(tr, new Date(t.created_time).toLocaleTimeString());
      px.cell(tr, t.yes_price_dollars, "num");
      px.cell(tr, t.count_fp, "num");
      px.cell(tr, t.taker_outcome_side);
      rows.appendChild(tr);
    }
  });
  let period = 1;
  let chart = null;
  let candleSeries = null;
  let volumeSeries = null;
  if (window.LightweightCharts && document.getElementById("chart")) {
    chart = LightweightCharts.createChart(document.getElementById("chart"), {height: 260, autoSize: true,
      timeScale: {timeVisible: true}});
    candleSeries = chart.addCandlestickSeries();
    volumeSeries = chart.addHistogramSeries({priceScaleId: "volume", priceFormat: {type: "volume"}});
    chart.priceScale("volume").applyOptions({scaleMargins: {top: 0.8, bottom: 0}});
  }
  const refreshCandles = px.refresher(async () => {
    if (!series) return;
    const end = Math.floor(Date.now() / 1000) + 60;
    const span = {1: 6 * 3600, 60: 14 * 86400, 1440: 365 * 86400}[period];
    const answer = await px.api("GET", "/trade-api/v2/series/" + encodeURIComponent(series) + "/markets/" + path +
      "/candlesticks?period_interval=" + period + "&start_ts=" + (end - span) + "&end_ts=" + end);
    const traded = answer.candlesticks.filter((c) => c.price.open_dollars !== null);
    const rows = document.getElementById("candle-rows");
    rows.replaceChildren();
    for (const c of traded.slice(-10).reverse()) {
      const tr = document.createElement("tr");
      px.cell(tr, new Date(c.end_period_ts * 1000).toLocaleString());
      [c.price.open_dollars, c.price.high_dollars, c.price.low_dollars, c.price.close_dollars, c.volume_fp].forEach((v) => px.cell(tr, v, "num"));
      rows.appendChild(tr);
    }
    if (candleSeries) {
      candleSeries.setData(traded.map((c) => ({time: c.end_period_ts, open: Number(c.price.open_dollars),
        high: Number(c.price.high_dollars), low: Number(c.price.low_dollars), close: Number(c.price.close_dollars)})));
      volumeSeries.setData(traded.map((c) => ({time: c.end_period_ts, value: Number(c.volume_fp)})));
    }
  });
  document.querySelectorAll("[data-period]").forEach((button) => button.addEventListener("click", () => {
    period = Number(button.dataset.period);
    document.querySelectorAll("[data-period]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
    refreshCandles();
  }));

  // --- the member's orders and position -------------------------------------------------------
  const refreshOrders = px.refresher(async () => {
    if (!member) return;
    const answer = await px.api("GET", "/trade-api/v2/portfolio/orders?ticker=" + path + "&status=resting");
    const rows = document.getElementById("order-rows");
    rows.replaceChildren();
    for (const o of answer.orders) {
      const tr = document.createElement("tr");
      tr.dataset.orderId = o.order_id;
      const price = o.side === "yes" ? o.yes_price_dollars : o.no_price_dollars;
      px.cell(tr, o.action + " " + o.side.toUpperCase());
      px.cell(tr, price, "num");
      px.cell(tr, o.remaining_count_fp, "num");
      const actions = px.cell(tr, "");
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.textContent = "Cancel";
      cancel.setAttribute("aria-label", "Cancel order " + o.order_id);
      cancel.addEventListener("click", async () => {
        try { await px.api("DELETE", "/trade-api/v2/portfolio/orders/" + o.order_id); } catch (e) { say(e.message); }
        refreshOrders();
      });
      const amend = document.createElement("button");
      amend.type = "button";
      amend.textContent = "Amend";
      amend.setAttribute("aria-label", "Amend order " + o.order_id + " to the ticket's price and count");
      amend.addEventListener("click", async () => {
        const body = {ticker, side: o.side, action: o.action, count: Number(field("count"))};
        body[o.side + "_price_dollars"] = field("price");
        try { await px.api("POST", "/trade-api/v2/portfolio/orders/" + o.order_id + "/amend", body); say("Amended."); } catch (e) { say(e.message); }
        refreshOrders();
      });
      actions.append(cancel, " ", amend);
      rows.appendChild(tr);
    }
  });
  const refreshPosition = px.refresher(async () => {
    if (!member) return;
    const answer = await px.api("GET", "/trade-api/v2/portfolio/positions?ticker=" + path);
    const p = answer.market_positions.find((x) => x.ticker === ticker);
    document.getElementById("position-count").textContent = p ? p.position_fp : "0.00";
    document.getElementById("position-cost").textContent = p ? px.dollars(p.market_exposure_dollars) : "$0.00";
    document.getElementById("position-pnl").textContent = p ? px.dollars(p.realized_pnl_dollars) : "$0.00";
  });

  // --- the ticket -----------------------------------------------------------------------------
  const ticket = document.getElementById("ticket");
  const field = (name) => {
    const checked = ticket.querySelector('[name="' + name + '"]:checked');
    return checked ? checked.value : ticket.elements[name].value;
  };
  const say = (text) => { const p = document.getElementById("ticket-result"); if (p) p.textContent = text; };
  const refreshQuote = px.refresher(async () => {
    if (!ticket) return;
    const query = new URLSearchParams({ticker, action: field("action"), side: field("side"), type: field("type"),
      price: field("price"), count: field("count")});
    try {
      const q = await px.api("GET", "/web/quote?" + query.toString());
      document.getElementById("preview-cost").textContent = q.cost;
      document.getElementById("preview-fee").textContent = q.fee;
      document.getElementById("preview-payout").textContent = q.payout;
    } catch (e) {
      document.getElementById("preview-cost").textContent = e.message;
      document.getElementById("preview-fee").textContent = "–";
      document.getElementById("preview-payout").textContent = "–";
    }
  });
  if (ticket) {
    ticket.addEventListener("input", refreshQuote);
    ticket.addEventListener("change", () => {
      document.getElementById("ticket-price").disabled = field("type") === "market";
      refreshQuote();
    });
    ticket.addEventListener("submit", async (event) => {
      event.preventDefault();
      const side = field("side");
      const body = {ticker, action: field("action"), side, type: field("type"), count: Number(field("count")),
        time_in_force: field("time_in_force"), post_only: ticket.elements.post_only.checked,
        reduce_only: ticket.elements.reduce_only.checked, client_order_id: crypto.randomUUID()};
      if (body.type === "limit") {
        body[side + "_price_dollars"] = field("price");
      } else if (body.action === "buy") {
        body.buy_max_cost_dollars = Number(field("count")).toFixed(2);
      }
      if (body.time_in_force === "good_till_canceled") delete body.time_in_force;
      try {
        const answer = await px.api("POST", "/trade-api/v2/portfolio/orders", body);
        say("Order " + answer.order.status + ": " + answer.order.order_id);
      } catch (e) {
        say("Refused: " + e.message);
      }
    });
    refreshQuote();
  }

  // --- live -----------------------------------------------------------------------------------
  // the market's status and result, read again when its lifecycle says it changed
  const refreshStatus = px.refresher(async () => {
    const answer = await px.api("GET", "/trade-api/v2/markets/" + path);
    document.getElementById("market-status").textContent = answer.market.status;
    const result = document.getElementById("market-result");
    if (result) result.textContent = answer.market.result ? "result " + answer.market.result : "";
  });
  // the book's deltas come to every page of this exchange, a visitor's too (the socket is known by its Origin)
  const subscriptions = [{channels: ["ticker", "trade", "orderbook_delta"], market_tickers: [ticker]}, {channels: ["market_lifecycle_v2"]}];
  if (member) {
    subscriptions.push({channels: ["user_orders", "market_positions", "fill"], market_tickers: [ticker]});
  }
  function everything() { markReady(); refreshBook(); refreshTrades(); refreshCandles(); refreshOrders(); refreshPosition(); }
  px.live(subscriptions, (message) => {
    switch (message.type) {
      case "orderbook_snapshot": case "orderbook_delta": refreshBook(); break;
      case "market_lifecycle_v2": if (message.msg && message.msg.market_ticker === ticker) { refreshStatus(); refreshOrders(); refreshPosition(); } break;
      case "trade": refreshTrades(); refreshCandles(); break;
      case "user_order": refreshOrders(); break;
      case "fill": case "market_position": refreshPosition(); refreshOrders(); break;
      default: break;
    }
  }, everything);
  everything();
});

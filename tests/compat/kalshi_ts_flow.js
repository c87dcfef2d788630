// Kalshi's official TypeScript SDK (kalshi-typescript, unchanged) driving one trading session against a
// running predictex. Run by test_kalshi_typescript.py under node, with NODE_PATH at the SDK's install:
// reads the session's context (base path, two members' keys, a market) as JSON on standard input and
// prints one JSON object: for every call, the fields the test checks, or the error the SDK raised.
// Each member gets an axios instance of its own: the SDK adds its signing interceptor to the axios it
// is given, and the shared default would sign every member's request with the last key configured.
"use strict";

const axios = require("axios");
const sdk = require("kalshi-typescript");

function apis(basePath, member) {
  const configuration = new sdk.Configuration({ basePath, apiKey: member.key_id, privateKeyPem: member.private_key_pem });
  const http = axios.create();
  const make = (Api) => new Api(configuration, basePath, http);
  return {
    exchange: make(sdk.ExchangeApi), market: make(sdk.MarketApi), events: make(sdk.EventsApi),
    orders: make(sdk.OrdersApi), portfolio: make(sdk.PortfolioApi), keys: make(sdk.ApiKeysApi),
    account: make(sdk.AccountApi), groups: make(sdk.OrderGroupsApi), multivariate: make(sdk.MultivariateApi),
    historical: make(sdk.HistoricalApi),
  };
}

async function call(results, name, thunk, pick) {
  try {
    const response = await thunk();
    results[name] = { status: response.status, value: pick(response.data) };
  } catch (error) {
    const answer = error.response;
    results[name] = { error: answer ? { status: answer.status, body: answer.data } : String(error) };
  }
  return results[name];
}

// The catalog the operator published and scheduled: events and series, an event's metadata, a scheduled
// series fee change, a multivariate event collection, and the historical tier past the archive cutoff.
async function catalog(out, a, context) {
  await call(out, "events", () => a.events.getEvents(100, undefined, false, false, undefined, context.series),
    (d) => d.events.map((e) => e.event_ticker));
  await call(out, "event_metadata", () => a.events.getEventMetadata(context.event),
    (d) => [d.image_url, d.competition, d.market_details.map((m) => [m.market_ticker, m.color_code])]);
  await call(out, "series_list", () => a.market.getSeriesList("Testing"), (d) => d.series.map((s) => s.ticker));
  await call(out, "series_fee_changes", () => a.exchange.getSeriesFeeChanges(context.series),
    (d) => d.series_fee_change_arr.map((c) => [c.series_ticker, c.fee_type, c.fee_multiplier, c.scheduled_ts]));
  await call(out, "collections", () => a.multivariate.getMultivariateEventCollections(undefined, undefined, context.series),
    (d) => d.multivariate_contracts.map((c) => [c.collection_ticker, c.associated_event_tickers, c.size_min, c.size_max]));
  await call(out, "collection", () => a.multivariate.getMultivariateEventCollection(context.collection),
    (d) => [d.multivariate_contract.collection_ticker, d.multivariate_contract.title]);
  await call(out, "historical_cutoff", () => a.historical.getHistoricalCutoff(), (d) => d.market_settled_ts);
  await call(out, "historical_markets", () => a.historical.getHistoricalMarkets(100, undefined, undefined, undefined, context.old_series),
    (d) => d.markets.map((m) => [m.ticker, m.status, m.result]));
  await call(out, "historical_market", () => a.historical.getHistoricalMarket(context.old_ticker), (d) => [d.market.ticker, d.market.result]);
  await call(out, "live_markets_of_archived", () => a.market.getMarkets(100, undefined, undefined, context.old_series),
    (d) => d.markets.map((m) => m.ticker));
}

async function main() {
  const context = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const a = apis(context.base_path, context.a);
  const b = apis(context.base_path, context.b);
  const ticker = context.ticker;
  const out = {};

  await call(out, "exchange_status", () => a.exchange.getExchangeStatus(), (d) => d);
  await call(out, "exchange_schedule", () => a.exchange.getExchangeSchedule(), (d) => Object.keys(d.schedule));
  await call(out, "series", () => a.market.getSeries(context.series), (d) => d.series.ticker);
  await call(out, "event", () => a.events.getEvent(context.event, true), (d) => [d.event.event_ticker, d.markets.map((m) => m.ticker)]);
  await call(out, "markets", () => a.market.getMarkets(100, undefined, context.event), (d) => d.markets.map((m) => [m.ticker, m.status]));
  await call(out, "market", () => a.market.getMarket(ticker), (d) => [d.market.ticker, d.market.status]);

  const placed = await call(out, "a_bid", () => a.orders.createOrderV2({
    ticker, side: "bid", count: "10", price: "0.40", time_in_force: "good_till_canceled",
    self_trade_prevention_type: "taker_at_cross", client_order_id: context.client_order_id,
  }), (d) => d);
  const orderId = placed.value ? placed.value.order_id : undefined;
  await call(out, "book_before", () => a.market.getMarketOrderbook(ticker), (d) => d.orderbook_fp.yes_dollars);
  await call(out, "b_sell", () => b.orders.createOrderV2({
    ticker, side: "ask", count: "4", price: "0.40", time_in_force: "immediate_or_cancel",
    self_trade_prevention_type: "taker_at_cross",
  }), (d) => d);
  await call(out, "a_order", () => a.orders.getOrder(orderId), (d) => d.order);
  await call(out, "a_decrease", () => a.orders.decreaseOrderV2(orderId, { reduce_by: "2" }), (d) => d);
  await call(out, "a_queue", () => a.orders.getOrderQueuePosition(orderId), (d) => d.queue_position_fp);
  await call(out, "a_orders_resting", () => a.orders.getOrders(ticker, undefined, undefined, undefined, "resting"),
    (d) => d.orders.map((o) => [o.order_id, o.remaining_count_fp]));
  await call(out, "a_cancel", () => a.orders.cancelOrderV2(orderId), (d) => d);
  await call(out, "a_balance", () => a.portfolio.getBalance(), (d) => d);
  await call(out, "b_balance", () => b.portfolio.getBalance(), (d) => d);
  await call(out, "a_positions", () => a.portfolio.getPositions(undefined, undefined, undefined, ticker),
    (d) => d.market_positions.map((p) => [p.ticker, p.position_fp, p.market_exposure_dollars]));
  await call(out, "b_positions", () => b.portfolio.getPositions(undefined, undefined, undefined, ticker),
    (d) => d.market_positions.map((p) => [p.ticker, p.position_fp, p.market_exposure_dollars]));
  await call(out, "a_fills", () => a.portfolio.getFills(ticker), (d) => d.fills.map((f) => [f.order_id, f.count_fp, f.yes_price_dollars, f.is_taker]));
  await call(out, "b_fills", () => b.portfolio.getFills(ticker), (d) => d.fills.map((f) => [f.count_fp, f.no_price_dollars, f.is_taker, f.fee_cost]));
  await call(out, "trades", () => a.market.getTrades(100, undefined, ticker), (d) => d.trades.map((t) => [t.count_fp, t.yes_price_dollars, t.taker_side]));
  const now = Math.floor(Date.now() / 1000);
  await call(out, "candles", () => a.market.getMarketCandlesticks(context.series, ticker, now - 3600, now + 60, 1),
    (d) => d.candlesticks.map((c) => [c.volume_fp, c.price.close_dollars]));
  await call(out, "api_keys", () => a.keys.getApiKeys(), (d) => d.api_keys.map((k) => k.api_key_id));
  await call(out, "account_limits", () => a.account.getAccountApiLimits(), (d) => d);
  await call(out, "endpoint_costs", () => a.account.getAccountEndpointCosts(), (d) => d);
  const group = await call(out, "group_create", () => a.groups.createOrderGroup({ contracts_limit: 5 }), (d) => d.order_group_id);
  await call(out, "group_get", () => a.groups.getOrderGroup(group.value), (d) => d);
  await call(out, "group_delete", () => a.groups.deleteOrderGroup(group.value), (d) => d);
  await call(out, "sub_create", () => a.portfolio.createSubaccount({}), (d) => d.subaccount_number);
  await call(out, "sub_transfer", () => a.portfolio.applySubaccountTransfer({
    client_transfer_id: context.client_transfer_id, from_subaccount: 0, to_subaccount: 1, amount_cents: 1000 }), (d) => d);
  await call(out, "sub_balances", () => a.portfolio.getSubaccountBalances(),
    (d) => d.subaccount_balances.map((b) => [b.subaccount_number, b.balance]));
  await call(out, "sub_balance", () => a.portfolio.getBalance(1), (d) => d.balance);
  await call(out, "sub_transfers", () => a.portfolio.getSubaccountTransfers(),
    (d) => d.transfers.map((t) => [t.from_subaccount, t.to_subaccount, t.amount_cents]));
  await catalog(out, a, context);
  await call(out, "wrong_market", () => a.market.getMarket(ticker + "-NOPE"), (d) => d);
  process.stdout.write(JSON.stringify(out));
}

main().catch((error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); });

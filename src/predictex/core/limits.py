"""Every limit the exchange enforces, in one place (a limit on everything; unbounded growth is a bug
waiting for load). The engine's own limits come first; the server and the gateways take theirs from
here too (their configurable bounds, `server.http.Limits` and `gateways.ws.limits.WsLimits`, default
to these numbers), so the numbers can be read and tuned together. Each one here is read by the code
that enforces it, and tests/integration/test_limits.py checks every one at its edge. (The accounts package,
which may not import core, keeps its own bounds in accounts/_common.py.)"""

from __future__ import annotations

from typing import Final

from predictex.core.units import COUNT_ONE_CONTRACT_CENTICONTRACTS, MONEY_ONE_CENT_MICRODOLLARS, MONEY_ONE_DOLLAR_MICRODOLLARS

KIB: Final = 1024
MIB: Final = 1024 * 1024

# --- orders -------------------------------------------------------------------------------------
OPEN_ORDERS_PER_ACCOUNT_MAX: Final = 200_000  # Kalshi: 200,000 open orders per user
BATCH_ORDERS_MAX: Final = 20  # items in one batched create or cancel
CLIENT_ORDER_ID_LENGTH_MAX: Final = 64  # FIX ClOrdID limit, applied to every surface
# client_order_ids of an account's most recently closed orders, refused for new orders so that a
# create retried after a timeout can never place a second order even if the first already filled
RECENT_CLIENT_ORDER_IDS_PER_ACCOUNT: Final = 10_000
ORDER_COUNT_CENTICONTRACTS_MAX: Final = 100_000_000 * COUNT_ONE_CONTRACT_CENTICONTRACTS  # 100 million contracts in one order
ORDER_GROUPS_PER_ACCOUNT_MAX: Final = 100_000
ORDER_GROUP_CONTRACTS_LIMIT_MAX_CENTICONTRACTS: Final = 1_000_000 * COUNT_ONE_CONTRACT_CENTICONTRACTS
ORDER_GROUP_WINDOW_MS: Final = 15_000  # the rolling window of an order group's contract limit
ORDER_MAX_COST_MICRODOLLARS_MAX: Final = 1_000_000_000 * MONEY_ONE_DOLLAR_MICRODOLLARS  # FIX MaxExecutionCost (21009)

# --- communications: RFQs, quotes, block trades ----------------------------------------------------
RFQS_OPEN_PER_ACCOUNT_MAX: Final = 100  # Kalshi: "a maximum of 100 open RFQs at a time"
RFQ_LIFETIME_MS_MAX: Final = 24 * 3600 * 1000  # an RFQ (and its quotes) expires at most a day after creation
QUOTE_CONFIRM_WINDOW_MS_MAX: Final = 30_000  # Kalshi's RFQ guide: the maker confirms within 30 s (standard markets)
QUOTE_CONFIRM_WINDOW_HVM_MS_MAX: Final = 1_000  # ... and within 1 s in a High Volatility Market (every combination)
QUOTES_PER_RFQ_MAX: Final = 1_000  # quotes open (or lapsed, awaiting the RFQ's close) on one RFQ
BLOCK_TRADE_LIFETIME_MS_MAX: Final = 7 * 24 * 3600 * 1000  # a block-trade proposal expires within a week
BLOCK_TRADES_PENDING_PER_ACCOUNT_MAX: Final = 1_000  # proposals an account has made that are still pending
COMMUNICATIONS_CLOSED_KEPT_MAX: Final = 100_000  # closed RFQs, quotes, proposals kept in memory (for the WS hub)

# --- accounts and money -------------------------------------------------------------------------
ACCOUNTS_MAX: Final = 10_000_000
DEPOSIT_MICRODOLLARS_MAX: Final = 1_000_000_000 * MONEY_ONE_DOLLAR_MICRODOLLARS  # $1 billion in one deposit
WITHDRAWAL_MICRODOLLARS_MIN: Final = 10 * MONEY_ONE_DOLLAR_MICRODOLLARS  # $10 minimum withdrawal (the seed)
# Balances of ordinary members are kept to whole cents; every fill's balance change is floored to it.
BALANCE_INCREMENT_MICRODOLLARS: Final = MONEY_ONE_CENT_MICRODOLLARS
# Kalshi numbers a member's subaccounts 1 to 63 (0 is the primary account; SDK 3.34.0)
SUBACCOUNTS_PER_MEMBER_MAX: Final = 63
SUBACCOUNT_TRANSFERS_PER_MEMBER_MAX: Final = 1_000_000  # each one's client_transfer_id is kept, so bounded
SUBACCOUNT_TRANSFER_MICRODOLLARS_MAX: Final = DEPOSIT_MICRODOLLARS_MAX
CLIENT_TRANSFER_ID_LENGTH_MAX: Final = 64

# --- time ---------------------------------------------------------------------------------------
TIME_MS_MAX: Final = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: the last instant an RFC 3339 timestamp can show

# --- instruments --------------------------------------------------------------------------------
TICKER_LENGTH_MAX: Final = 100
TEXT_LENGTH_MAX: Final = 10_000  # titles, rules, sources
MARKETS_PER_EVENT_MAX: Final = 10_000
SETTLEMENT_TIMER_SECONDS_MAX: Final = 30 * 24 * 3600
FEE_MULTIPLIER_BPS_MAX: Final = 100_000  # 10x
CONTENT_ITEMS_MAX: Final = 100_000  # documents the operator publishes (milestones, live data, metadata, ...)
CONTENT_BYTES_MAX: Final = 200_000  # characters in one published document
COMBO_LEGS_MAX: Final = 20  # legs of one combination market (a multivariate event collection's size_max is at most this)
FEE_CHANGES_MAX: Final = 100_000  # series fee changes and event fee overrides the exchange keeps (applied ones too)

# --- the sequencer ------------------------------------------------------------------------------
SEQUENCER_QUEUE_MAX: Final = 100_000  # commands waiting to be applied; past it, SequencerBusy (503 / busy)
SEQUENCER_BATCH_MAX: Final = 10_000  # commands in one journal transaction

# --- HTTP (server.http.Limits) ------------------------------------------------------------------
HTTP_BODY_BYTES_MAX: Final = 1_000_000  # larger request bodies: 413 and close
HTTP_HEADER_BYTES_MAX: Final = 16 * KIB  # names + values of all header lines: 431 and close
HTTP_HEADER_COUNT_MAX: Final = 100  # header lines per request: 431 and close
HTTP_URL_BYTES_MAX: Final = 8 * KIB  # request target: 414 and close
HTTP_CONNECTIONS_MAX: Final = 10_000  # past this, a new connection gets a 503 and is closed
HTTP_PIPELINED_REQUESTS_MAX: Final = 64  # requests queued on one connection before reading pauses

# --- REST ---------------------------------------------------------------------------------------
PAGE_SIZE_DEFAULT: Final = 100  # rows in a page when the request gives no `limit`
PAGE_SIZE_MAX: Final = 1_000  # a larger `limit` is cut to this
EVENTS_PAGE_SIZE_MAX: Final = 200  # GET /events pages (Kalshi's own bound, and its default)
TICKERS_PER_REQUEST_MAX: Final = 100  # markets one request names (order books, candlesticks, fills)
ORDERBOOK_DEPTH_MAX: Final = 100  # levels per side of an order book answer; a deeper `depth` is cut to this
CANDLES_PER_REQUEST_MAX: Final = 10_000  # candlesticks one market's request may span
TRANSFERS_LISTED_MAX: Final = 500  # deposits or withdrawals listed by the portfolio's reads, newest first
MEMBER_TRANSFERS_LISTED_MAX: Final = 1_000  # deposits and withdrawals together in a member's /transfers
REQUEST_INTEGER_MAX: Final = 10**15  # any integer read from a request: seconds x 1000 still fit 64 bits
ORDERBOOK_ANSWERS_CACHED_MAX: Final = 10_000  # (ticker, depth) answers kept encoded; past this the cache starts over
MONEY_TEXTS_CACHED_MAX: Final = 65_536  # money strings remembered by amount; past this the memory starts over
ROUTES_CACHED_MAX: Final = 4_096  # (method, raw path) -> route results remembered; past this the memory starts over
METRICS_REQUEST_KINDS_MAX: Final = 4_096  # (path, method, status) kinds remembered by the metrics' shortcut

# --- WebSocket (gateways.ws.limits.WsLimits) ----------------------------------------------------
WS_MESSAGE_BYTES_MAX: Final = 256 * KIB  # one client message (all its fragments): larger ones are skipped, error sent
WS_COMMANDS_PER_SECOND: Final = 50  # each connection's command rate, refilled continuously ...
WS_COMMANDS_BURST: Final = 200  # ... with this much credit; past it: error 27 (Too many requests)
WS_OUTBOUND_BYTES_MAX: Final = 1 * MIB  # unsent bytes of one connection before its subscriptions are dropped
WS_OUTBOUND_BYTES_ABORT: Final = 8 * MIB  # unsent bytes at which the connection itself is dropped
WS_SOCKET_SEND_BUFFER_BYTES: Final = 256 * KIB  # each socket's SO_SNDBUF, fixed so it cannot grow for a reader that stopped
WS_CONNECTIONS_MAX: Final = 5_000  # open WebSocket connections; past it, upgrades are refused with 503
WS_SUBSCRIPTIONS_PER_CONNECTION_MAX: Final = 64
WS_ITEMS_PER_COMMAND_MAX: Final = 100  # channels in one subscribe, sids in one unsubscribe
WS_MARKETS_PER_SUBSCRIPTION_MAX: Final = 1_000  # error 26 past this
WS_SHARD_FACTOR_MAX: Final = 100  # a subscription's shard_factor (error 22 past it)
WS_SEED_CHANNEL_NAME_LENGTH_MAX: Final = 200  # one channel name in the seed's subscribe

# --- FIX ----------------------------------------------------------------------------------------
FIX_MESSAGE_BYTES_MAX: Final = 64 * KIB  # a message after its BodyLength (9), CheckSum included; longer: skipped as garbled
FIX_CONNECTIONS_MAX: Final = 10_000  # open FIX connections; past it, a new one is closed at once
FIX_WRITE_BUFFER_BYTES_MAX: Final = 16 * MIB  # unsent bytes of a peer that does not read; past it, disconnected
FIX_SUBSCRIPTIONS_PER_SESSION_MAX: Final = 1_000  # market-data subscriptions of one session
FIX_SYMBOLS_PER_REQUEST_MAX: Final = 100  # symbols in one MarketDataRequest
FIX_RESEND_REPORTS_MAX: Final = 10_000  # execution reports in one drop-copy resend
FIX_RECENT_MESSAGES_MAX: Final = 20_000  # sent messages kept in memory per session for quick resends

# --- authentication (accounts/) -------------------------------------------------------------------
TIMESTAMP_DIGITS_MAX: Final = 16  # a Kalshi v2 timestamp: milliseconds since the epoch (13 digits until 2286)
SUSPENSION_REASON_LENGTH_MAX: Final = 500

# --- replays (accounts/replay.py) --------------------------------------------------------------
# Signed writes (and FIX Logons) seen within the timestamp window, each kept until its timestamp
# leaves the window; an exact repeat is refused. About 140 bytes an entry (140 MB at the bound). One
# process serves about 12,000 signed writes a second at most, which over the 60 s an entry can live is
# 720,000 entries; past the bound new signed writes are refused (503) rather than left unremembered.
REPLAY_CACHE_ENTRIES_MAX: Final = 1_000_000

# --- password guessing (accounts/throttle.py) --------------------------------------------------
# Failed password logins are counted per email (member or not, so the throttle tells nobody who is a
# member) and per client address. Past the free failures each attempt waits twice as long as the one
# before (1 s, 2 s, 4 s ...) up to the longest wait; counts are forgotten after a quiet period.
LOGIN_FAILURES_PER_ACCOUNT_FREE: Final = 5
LOGIN_FAILURES_PER_ADDRESS_FREE: Final = 20
LOGIN_WAIT_MS_MIN: Final = 1_000
LOGIN_WAIT_MS_MAX: Final = 15 * 60 * 1000
LOGIN_FAILURES_FORGOTTEN_AFTER_MS: Final = 15 * 60 * 1000  # since the last failure
LOGIN_THROTTLE_ENTRIES_MAX: Final = 200_000  # emails and addresses tracked; the quietest are dropped first

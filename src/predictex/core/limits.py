"""Every limit the exchange enforces, in one place (a limit on everything; unbounded growth is a bug
waiting for load). Other layers import their limits from here too, so the numbers can be read and
tuned together."""

from __future__ import annotations

from typing import Final

from predictex.core.units import COUNT_ONE_CONTRACT_CENTICONTRACTS, MONEY_ONE_CENT_MICRODOLLARS, MONEY_ONE_DOLLAR_MICRODOLLARS

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
ORDER_GROUP_WINDOW_ENTRIES_MAX: Final = 10_000  # fills remembered per group window

# --- accounts and money -------------------------------------------------------------------------
ACCOUNTS_MAX: Final = 10_000_000
DEPOSIT_MICRODOLLARS_MAX: Final = 1_000_000_000 * MONEY_ONE_DOLLAR_MICRODOLLARS  # $1 billion in one deposit
WITHDRAWAL_MICRODOLLARS_MIN: Final = 10 * MONEY_ONE_DOLLAR_MICRODOLLARS  # $10 minimum withdrawal (the seed)
# Balances of ordinary members are kept to whole cents; every fill's balance change is floored to it.
BALANCE_INCREMENT_MICRODOLLARS: Final = MONEY_ONE_CENT_MICRODOLLARS

# --- time ---------------------------------------------------------------------------------------
TIME_MS_MAX: Final = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: the last instant an RFC 3339 timestamp can show

# --- instruments --------------------------------------------------------------------------------
TICKER_LENGTH_MAX: Final = 100
TEXT_LENGTH_MAX: Final = 10_000  # titles, rules, sources
MARKETS_PER_EVENT_MAX: Final = 10_000
SETTLEMENT_TIMER_SECONDS_MAX: Final = 30 * 24 * 3600
FEE_MULTIPLIER_BPS_MAX: Final = 100_000  # 10x

# --- wire and fan-out (used by the server and gateways) ------------------------------------------
HTTP_BODY_BYTES_MAX: Final = 1_000_000
WS_MESSAGE_BYTES_MAX: Final = 64 * 1024
WS_SUBSCRIBER_QUEUE_MAX: Final = 10_000
FIX_MESSAGE_BYTES_MAX: Final = 64 * 1024
SEQUENCER_QUEUE_MAX: Final = 100_000
SEQUENCER_BATCH_MAX: Final = 10_000

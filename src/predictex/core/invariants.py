"""The engine's conservation laws and structural invariants, checked from scratch.

Tests and the simulation call `check_invariants` after every command. A failure is a bug, never a
refusal: it raises `InvariantViolation` with what is wrong.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from predictex.core.communications import QUOTE_ACCEPTED, QUOTE_CANCELLED, QUOTE_OPEN, SIDES, accounts_of
from predictex.core.ledger import AccountMarket, designate_closing, fill_priority_key, order_lock_microdollars, worst_fee_per_unit
from predictex.core.limits import SUBACCOUNTS_PER_MEMBER_MAX
from predictex.core.orders import RESTING
from predictex.core.rejects import InvariantViolation
from predictex.core.units import PAYOUT_PER_CENTICONTRACT_MICRODOLLARS

if TYPE_CHECKING:
    from predictex.core.engine import Engine


def _fail(message: str) -> None:
    raise InvariantViolation(message)


def check_invariants(engine: Engine) -> None:
    _check_books(engine)
    _check_orders_and_collateral(engine)
    _check_positions(engine)
    _check_conservation(engine)
    _check_communications(engine)
    _check_subaccounts(engine)


def _check_books(engine: Engine) -> None:
    orders = engine.trading.orders
    in_books = 0
    for ticker, market in engine.markets.markets.items():
        book = market.book
        if book.is_crossed():
            _fail(f"book {ticker} is crossed: bid {book.bids.best_price()} >= ask {book.asks.best_price()}")
        for side in (book.bids, book.asks):
            if side.prices != sorted(side.levels) or len(side.prices) != len(set(side.prices)):
                _fail(f"book {ticker} price index disagrees with its levels")
            for price, level in side.levels.items():
                total = 0
                count = 0
                previous = None
                node = level.head
                while node is not None:
                    if node.prev is not previous or node.level is not level:
                        _fail(f"book {ticker} level {price} has broken links at order {node.order_id}")
                    if node.price_centicents != price or node.is_bid != side.is_bid or node.ticker != ticker:
                        _fail(f"order {node.order_id} sits in the wrong level")
                    if node.remaining_centicontracts <= 0 or node.status != RESTING:
                        _fail(f"order {node.order_id} rests with {node.remaining_centicontracts} left, status {node.status}")
                    if orders.get(node.order_id) is not node:
                        _fail(f"order {node.order_id} is in the book but not open")
                    if previous is not None and previous.priority >= node.priority:
                        _fail(f"level {price} of {ticker} is out of time priority")
                    total += node.remaining_centicontracts
                    count += 1
                    previous = node
                    node = node.next
                if level.tail is not previous or total != level.total_centicontracts or count != level.order_count or count == 0:
                    _fail(f"book {ticker} level {price} totals disagree: {total}/{count} vs {level.total_centicontracts}/{level.order_count}")
                in_books += count
    if in_books != len(orders):
        _fail(f"{len(orders)} open orders but {in_books} in books")


def _check_orders_and_collateral(engine: Engine) -> None:
    open_per_account: dict[int, int] = {}
    for order in engine.trading.orders.values():
        open_per_account[order.account_id] = open_per_account.get(order.account_id, 0) + 1
        account = engine.ledger.accounts[order.account_id]
        am = account.markets.get(order.ticker)
        if am is None or order.holder is not am or order.account is not account or order not in (am.bids if order.is_bid else am.asks).orders:
            _fail(f"order {order.order_id} is not listed under its account's market")
        if order.client_order_id and account.open_client_order_ids.get(order.client_order_id) != order.order_id:
            _fail(f"order {order.order_id} client_order_id index is wrong")
    for account in engine.ledger.accounts.values():
        if account.open_order_count != open_per_account.get(account.account_id, 0):
            _fail(f"account {account.account_id} counts {account.open_order_count} open orders, has {open_per_account.get(account.account_id, 0)}")
        if account.cash_microdollars < 0 or account.locked_microdollars < 0 or account.pending_withdrawal_microdollars < 0:
            _fail(f"account {account.account_id} has a negative balance")
        locked = 0
        for ticker, am in account.markets.items():
            terms = engine.markets.markets[ticker].fee_terms
            for is_bid in (True, False):
                resting = am.bids if is_bid else am.asks
                filed = list(resting.orders)
                if [o.priority for o in filed] != sorted(o.priority for o in filed):
                    _fail(f"account {account.account_id} {ticker} orders are not filed in time order")
                ordered = sorted(filed, key=fill_priority_key)
                kept = resting.kept_fill_order()
                if kept is not None and kept != ordered:
                    _fail(f"account {account.account_id} {ticker} orders are not kept in fill order")
                closing = designate_closing(ordered, am.closable_centicontracts(is_bid), account.netting_enabled)
                for index, order in enumerate(ordered):
                    close = closing[index]
                    fee = worst_fee_per_unit(terms, is_bid, order.price_centicents, False)
                    if order.maker_fee_per_unit_microdollars != fee:
                        _fail(f"order {order.order_id} caches a maker fee of {order.maker_fee_per_unit_microdollars}, not {fee}")
                    need = order_lock_microdollars(
                        terms.unit_centicontracts, is_bid, order.price_centicents, fee, order.remaining_centicontracts - close,
                        close, order.rounding_accumulator_microdollars,
                    )
                    if order.closing_centicontracts != close or order.lock_microdollars != need:
                        _fail(
                            f"order {order.order_id} holds {order.lock_microdollars} closing {order.closing_centicontracts}, "
                            f"needs {need} closing {close}"
                        )
                    locked += need
        if locked != account.locked_microdollars:
            _fail(f"account {account.account_id} locks {account.locked_microdollars} but its orders need {locked}")


def _check_positions(engine: Engine) -> None:
    for ticker, market in engine.markets.markets.items():
        long_yes = 0
        long_no = 0
        for am in engine.ledger.market_positions.get(ticker, {}).values():
            if engine.ledger.accounts[am.account_id].markets.get(ticker) is not am:
                _fail(f"position index for {ticker} disagrees with account {am.account_id}")
            if not engine.ledger.accounts[am.account_id].netting_enabled:
                yes, no = _held_apart(am, ticker)
                long_yes += yes
                long_no += no
                continue
            if am.yes_centicontracts or am.no_centicontracts or am.yes_cost_microdollars or am.no_cost_microdollars:
                _fail(f"account {am.account_id} nets but holds {ticker} apart")
            if am.position_centicontracts > 0:
                long_yes += am.position_centicontracts
            else:
                long_no -= am.position_centicontracts
            if am.position_cost_microdollars < 0 or (am.position_centicontracts == 0 and am.position_cost_microdollars != 0):
                _fail(f"account {am.account_id} in {ticker} has cost {am.position_cost_microdollars} for position {am.position_centicontracts}")
        if long_yes != long_no or long_yes != market.open_interest_centicontracts:
            _fail(f"{ticker}: YES outstanding {long_yes}, NO outstanding {long_no}, open interest {market.open_interest_centicontracts}")


def _held_apart(am: AccountMarket, ticker: str) -> tuple[int, int]:
    """An account without netting: each side is held with its own cost, and the signed position and its
    cost are the two sides' difference and sum."""
    for count, cost in ((am.yes_centicontracts, am.yes_cost_microdollars), (am.no_centicontracts, am.no_cost_microdollars)):
        if count < 0 or cost < 0 or (count == 0 and cost != 0):
            _fail(f"account {am.account_id} in {ticker} holds a side of {count} costing {cost}")
    if (am.position_centicontracts != am.yes_centicontracts - am.no_centicontracts
            or am.position_cost_microdollars != am.yes_cost_microdollars + am.no_cost_microdollars):
        _fail(f"account {am.account_id} in {ticker}: position {am.position_centicontracts} costing {am.position_cost_microdollars} "
              f"is not YES {am.yes_centicontracts} less NO {am.no_centicontracts}, their costs summed")
    return am.yes_centicontracts, am.no_centicontracts


def _check_conservation(engine: Engine) -> None:
    ledger = engine.ledger
    held = 0
    for account in ledger.accounts.values():
        held += account.cash_microdollars + account.locked_microdollars + account.pending_withdrawal_microdollars
    pools = sum(m.open_interest_centicontracts for m in engine.markets.markets.values()) * PAYOUT_PER_CENTICONTRACT_MICRODOLLARS
    expected = ledger.deposited_microdollars - ledger.withdrawn_microdollars
    if held + pools + ledger.revenue_microdollars != expected:
        _fail(
            f"money is not conserved: accounts {held} + pools {pools} + revenue {ledger.revenue_microdollars} "
            f"!= deposits - withdrawals {expected}"
        )


def _check_communications(engine: Engine) -> None:
    comms = engine.communications
    ledger = engine.ledger
    counts = accounts_of(comms)
    for account in ledger.accounts.values():
        rfqs, proposals = counts.get(account.account_id, (0, 0))
        if account.open_rfq_count != rfqs or account.pending_proposal_count != proposals:
            _fail(f"account {account.account_id} counts {account.open_rfq_count} RFQs and {account.pending_proposal_count} "
                  f"proposals, has {rfqs} and {proposals}")
    held = 0
    for rfq in comms.rfqs.values():
        if rfq.account_id not in ledger.accounts or rfq.ticker not in engine.markets.markets:
            _fail(f"RFQ {rfq.rfq_id} names an unknown account or market")
        if (rfq.count_centicontracts > 0) == (rfq.target_cost_microdollars > 0) or rfq.rfq_id >= comms.next_rfq_id:
            _fail(f"RFQ {rfq.rfq_id} is sized by both or neither of count and target cost, or numbered ahead")
        accepted = 0
        for quote_id in rfq.quote_ids:
            quote = comms.quotes.get(quote_id)
            if quote is None or quote.rfq_id != rfq.rfq_id or quote.rfq_account_id != rfq.account_id or quote.ticker != rfq.ticker:
                _fail(f"RFQ {rfq.rfq_id} lists quote {quote_id}, which is not held for it")
                return
            if quote.account_id == rfq.account_id:
                _fail(f"quote {quote_id} answers its own creator's RFQ")
            if quote.status not in (QUOTE_OPEN, QUOTE_ACCEPTED, QUOTE_CANCELLED):
                _fail(f"quote {quote_id} is held with status {quote.status}")
            if quote.status == QUOTE_ACCEPTED:
                accepted += 1
                if quote.accepted_side not in SIDES or quote.confirm_deadline_ms <= 0:
                    _fail(f"accepted quote {quote_id} has no side or deadline")
            elif quote.status == QUOTE_OPEN and (quote.accepted_side or quote.confirm_deadline_ms):
                _fail(f"open quote {quote_id} carries an acceptance")
            if quote.yes_bid_centicents == 0 and quote.no_bid_centicents == 0:
                _fail(f"quote {quote_id} prices neither side")
        if accepted > 1:
            _fail(f"RFQ {rfq.rfq_id} has {accepted} quotes accepted at once")
        held += len(rfq.quote_ids)
    if held != len(comms.quotes):
        _fail(f"{len(comms.quotes)} quotes held but their RFQs list {held}")
    for proposal in comms.proposals.values():
        parties = (proposal.buyer_account_id, proposal.seller_account_id)
        if proposal.buyer_account_id == proposal.seller_account_id or proposal.proposer_account_id not in parties:
            _fail(f"block trade proposal {proposal.proposal_id} has the wrong parties")
        if any(party not in ledger.accounts for party in parties):
            _fail(f"block trade proposal {proposal.proposal_id} names an unknown account")
        if (proposal.buyer_accepted_ms > 0) + (proposal.seller_accepted_ms > 0) != 1:
            _fail(f"pending block trade proposal {proposal.proposal_id} is accepted by {'both' if proposal.buyer_accepted_ms else 'neither'} side")


def _check_subaccounts(engine: Engine) -> None:
    ledger = engine.ledger
    index = ledger.subaccounts
    listed = 0
    for primary, numbered in index.by_primary.items():
        if primary not in ledger.accounts or primary in index.owner:
            _fail(f"subaccounts are listed under {primary}, which is not a primary account")
        if list(numbered) != list(range(1, len(numbered) + 1)) or len(numbered) > SUBACCOUNTS_PER_MEMBER_MAX:
            _fail(f"account {primary}'s subaccounts are not numbered 1 to {len(numbered)}: {list(numbered)}")
        for number, account_id in numbered.items():
            if account_id not in ledger.accounts or index.owner.get(account_id) != (primary, number):
                _fail(f"subaccount {number} of {primary} (account {account_id}) is not indexed both ways")
            if account_id <= primary:
                _fail(f"subaccount {number} of {primary} was opened before its member")
            listed += 1
    if listed != len(index.owner):
        _fail(f"{len(index.owner)} subaccounts are owned but {listed} are listed")
    transfers = 0
    for primary, used in index.client_transfer_ids.items():
        if primary not in index.by_primary:
            _fail(f"account {primary} made transfers without subaccounts")
        for transfer_id, _, _, _ in used.values():
            if not 0 < transfer_id < index.next_transfer_id:
                _fail(f"transfer {transfer_id} is numbered beyond the counter {index.next_transfer_id}")
        transfers += len(used)
    if transfers != index.next_transfer_id - 1:
        _fail(f"{transfers} transfers are recorded but {index.next_transfer_id - 1} were numbered")
    for withdrawal in ledger.withdrawals.values():
        if withdrawal.account_id in index.owner:
            _fail(f"withdrawal {withdrawal.withdrawal_id} is held by a subaccount")

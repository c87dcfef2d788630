"""Refusals name orders, order groups and withdrawals as data, and each gateway writes the name in its
own wire ids (no gateway reads a number back out of the text)."""

from __future__ import annotations

from harness import Harness, contracts
from predictex.core import commands as c
from predictex.core.rejects import Reject, RejectCode, Subject
from predictex.gateways.fix import errors as fix_errors
from predictex.gateways.rest.errors import reject_body, reject_error
from predictex.server import ids
from predictex.server.ids import Ids

IDS = Ids(7)


def test_a_refusal_names_what_it_is_about_as_data(exchange: Harness) -> None:
    ticker = exchange.market()
    me = exchange.account()
    order_id = exchange.placed(me, ticker, "bid", "0.40", 5)
    reject = exchange.refused(c.AmendOrder(me, order_id, ticker="KXOTHER"), RejectCode.ORDER_TICKER_MISMATCH)
    assert (reject.subject, reject.number) == (Subject.ORDER, order_id)
    assert reject.detail == f"{order_id} is on {ticker}, not KXOTHER"
    assert reject.describe(lambda subject, number: f"<{subject.value} {number}>") == f"<order {order_id}> is on {ticker}, not KXOTHER"


def test_a_refusal_that_names_nothing_describes_itself_as_its_detail(exchange: Harness) -> None:
    reject = exchange.refused(c.CreateOrder(exchange.account("0"), exchange.market(), True, 5_000, contracts(1)),
                              RejectCode.INSUFFICIENT_BALANCE)
    assert reject.subject is None
    assert reject.describe(lambda subject, number: "never called") == reject.detail


def test_the_name_is_data_even_when_the_text_around_it_looks_like_a_name() -> None:
    """A ticker that reads like an order number stays as it is: only the named subject is rewritten."""
    reject = Reject(RejectCode.ORDER_TICKER_MISMATCH, "order 5 is on order 6, not order 7", Subject.ORDER, 5,
                    "order ", " is on order 6, not order 7")
    uuid = IDS.to_uuid(ids.ORDER, 5)
    assert reject_error(reject, IDS).details == f"order {uuid} is on order 6, not order 7"
    assert fix_errors.reject_text(reject, IDS) == f"INVALID_ORDER: order {uuid} is on order 6, not order 7"


def test_rest_and_fix_write_every_subject_as_its_wire_id() -> None:
    for subject, kind in ((Subject.ORDER, ids.ORDER), (Subject.ORDER_GROUP, ids.ORDER_GROUP), (Subject.WITHDRAWAL, ids.WITHDRAWAL)):
        reject = Reject(RejectCode.ORDER_NOT_FOUND, "no such thing 42", subject, 42, "no such thing ")
        uuid = IDS.to_uuid(kind, 42)
        assert reject_body(reject, IDS)["details"] == f"no such thing {uuid}"
        assert fix_errors.reject_text(reject, IDS) == f"ORDER_NOT_FOUND: no such thing {uuid}"
        assert reject_body(reject, None)["details"] == "no such thing 42"  # no ids known: the engine's text


def test_fix_answers_unknown_ids_by_the_code_not_the_text() -> None:
    assert fix_errors.business_reject_reason(Reject(RejectCode.ORDER_GROUP_NOT_FOUND, "")) == 1
    assert fix_errors.business_reject_reason(Reject(RejectCode.ORDER_GROUP_LIMIT, "NOT_FOUND in the text")) == 0

"""Two members trade one market from first deposit to settlement over real HTTP, and every balance,
lock, position, fee and payout equals the arithmetic written below (Kalshi's fees, reference §7.6,
on a series that charges makers too; docs/engine.md for collateral and the rounding rebate). The
operator settles the market through the admin API, the settlements read back, and after the server
stops, `predictex journal verify` (the CLI, in a subprocess) replays the journal and passes.

Units: $ amounts below are exact decimals; the server keeps microdollars and shows 4 or 6 decimals.
Trade fee = ceil_to_$0.0001(rate x C x P x (1 - P)), rate 0.07 taker, 0.0175 maker; each fill's
balance change (revenue - fee) is floored to the cent, the difference is a rounding fee that an
order accumulates and gets back a cent at a time once it reaches $0.01.

  deposits: A $500.00, B $300.00
  1. A rests (legacy) buy YES 20 @ 45c. Lock = 20 x 0.45 + 20 x maker fee of one (0.0175 x .45 x .55
     = 0.00433125 -> 0.0044) = 9.088 -> $9.09.
  2. B sells (V2 ask) 12 @ 0.45, taker, against it:
     B: opens 12 NO @ 0.55 = 6.60; fee 0.07 x 12 x .45 x .55 = 0.2079; change -6.8079 -> -6.81 (fee $0.21)
     A: 12 YES @ 0.45 = 5.40; maker fee 0.0175 x 12 x .45 x .55 = 0.051975 -> 0.0520; change -5.452 -> -5.46
        (fee $0.06; the order's rounding accumulator holds 0.008). A's lock on the 8 left:
        8 x .45 + 8 x .0044 - .008 = 3.6272 -> $3.63.
  3. A amends (legacy) to 47c, total 20 (8 left): lock 8 x .47 + 8 x .0044 - .008 = 3.7872 -> $3.79.
  4. A decreases by 3 (5 left): lock 5 x .47 + 5 x .0044 - .008 = 2.364 -> $2.37.
  5. B cancels nothing of A's (404), rests a bid of 3 @ 0.10 and cancels it (V2): no change.
  6. B sells (V2 ask, IoC) 5 @ 0.47 and fills A's 5:
     B: opens 5 NO @ .53 = 2.65; fee 0.07 x 5 x .47 x .53 = 0.087185 -> 0.0872; -2.7372 -> -2.74 (fee $0.09)
     A: 5 YES @ .47 = 2.35; maker fee 0.0175 x 5 x .47 x .53 = 0.02179625 -> 0.0218; -2.3718 -> -2.38,
        rounding 0.0082; accumulator 0.008 + 0.0082 = 0.0162 >= 0.01: a cent back, change -2.37 (fee $0.02)
  7. A offers (legacy sell YES) 7 @ 60c; B buys (V2 bid) 7 @ 0.60, taker, closing NO:
     B: closes 7 NO, each paying 1 - .60 = .40: +2.80; fee 0.07 x 7 x .6 x .4 = 0.1176; +2.6824 -> +2.68
        (fee $0.12); cost released 7/17 of 9.25 = 3.808823(.5, floored); realized 2.80 - 3.808823 = -1.008823
     A: closes 7 YES @ .60: +4.20; maker fee 0.0175 x 7 x .6 x .4 = 0.0294; +4.1706 -> +4.17 (fee $0.03);
        cost released 7/17 of 7.75 = 3.191176; realized 4.20 - 3.191176 = 1.008824
  8. The market settles YES: A's 10 YES pay $10.00; B's 10 NO pay nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

from integration.server_fixture import V2, running_server
from integration.trading_helpers import (
    MAKER_RATE,
    cash_change_microdollars,
    conforms,
    make_markets,
    new_trader,
    settle,
    trade_fee_microdollars,
)

D = 1_000_000  # microdollars in a dollar


def dollars(text: str) -> int:
    """'$5.46' written in the test -> microdollars."""
    return int(Fraction(text) * D)


def test_the_arithmetic_of_the_story() -> None:
    """Each figure of the docstring, computed from the fee formula and the rounding rule."""
    assert trade_fee_microdollars(1, 45, MAKER_RATE) == dollars("0.0044")
    assert trade_fee_microdollars(12, 45) == dollars("0.2079")
    assert cash_change_microdollars(-dollars("6.60"), dollars("0.2079")) == -dollars("6.81")
    assert trade_fee_microdollars(12, 45, MAKER_RATE) == dollars("0.0520")
    assert cash_change_microdollars(-dollars("5.40"), dollars("0.0520")) == -dollars("5.46")
    assert trade_fee_microdollars(1, 47, MAKER_RATE) == dollars("0.0044")
    assert trade_fee_microdollars(5, 47) == dollars("0.0872")
    assert cash_change_microdollars(-dollars("2.65"), dollars("0.0872")) == -dollars("2.74")
    assert trade_fee_microdollars(5, 47, MAKER_RATE) == dollars("0.0218")
    assert cash_change_microdollars(-dollars("2.35"), dollars("0.0218")) == -dollars("2.38")
    # A's order had kept 0.008 of rounding from step 2; with this fill's 0.0082 it passes a cent: one back
    assert dollars("0.008") + (dollars("2.38") - dollars("2.3718")) - dollars("0.01") == dollars("0.0062")
    assert trade_fee_microdollars(7, 60) == dollars("0.1176")
    assert cash_change_microdollars(dollars("2.80"), dollars("0.1176")) == dollars("2.68")
    assert trade_fee_microdollars(7, 60, MAKER_RATE) == dollars("0.0294")
    assert cash_change_microdollars(dollars("4.20"), dollars("0.0294")) == dollars("4.17")
    assert dollars("9.25") * 7 // 17 == dollars("3.808823")
    assert dollars("7.75") * 7 // 17 == dollars("3.191176")


def _money(trader: Any) -> tuple[str, str]:
    balance = trader.balance()
    return balance["balance_dollars"], balance["locked_dollars"]


def _position(trader: Any, ticker: str) -> tuple[str, ...]:
    found = trader.position(ticker)
    return (found["position_fp"], found["market_exposure_dollars"], found["realized_pnl_dollars"], found["fees_paid_dollars"])


def test_two_members_from_deposit_to_settlement_and_a_journal_that_verifies(tmp_path: Path) -> None:
    data_dir = tmp_path / "exchange"
    with running_server(data_dir, environment="prod") as server:
        a = new_trader(server, "a", 50_000)
        b = new_trader(server, "b", 30_000)
        [ticker] = make_markets(server, fee_type="quadratic_with_maker_fees")
        assert (_money(a), _money(b)) == (("500.0000", "0.0000"), ("300.0000", "0.0000"))

        # 1
        resting = a.legacy(ticker, "yes", "buy", 20, 45, client_order_id="a-bid")
        assert resting.status == 201, resting
        order_id = resting.json()["order"]["order_id"]
        assert _money(a) == ("490.9100", "9.0900")
        # 2
        sold = b.v2(ticker, "ask", "12", "0.45")
        assert (sold.status, sold.json()["fill_count"], sold.json()["average_fee_paid"]) == (201, "12.00", "0.0175"), sold  # $0.21 / 12
        assert _money(b) == ("293.1900", "0.0000")
        assert _money(a) == ("490.9100", "3.6300")  # 500 - 5.46 - 3.63
        order = a.order(order_id)
        assert (order["maker_fees_dollars"], order["maker_fill_cost_dollars"], order["fill_count"], order["remaining_count"]) == (
            "0.0600", "5.4000", 12, 8)
        # 3
        amended = a.call("POST", f"/portfolio/orders/{order_id}/amend", {
            "ticker": ticker, "side": "yes", "action": "buy", "client_order_id": "a-bid", "updated_client_order_id": "a-bid-2",
            "yes_price": 47, "count": 20})
        assert conforms(amended, "POST", "/portfolio/orders/{order_id}/amend")["order"]["yes_price"] == 47
        assert _money(a) == ("490.7500", "3.7900")
        # 4
        decreased = a.call("POST", f"/portfolio/orders/{order_id}/decrease", {"reduce_by": 3})
        assert decreased.status == 200 and decreased.json()["order"]["remaining_count"] == 5, decreased
        assert _money(a) == ("492.1700", "2.3700")
        # 5
        assert b.call("DELETE", f"/portfolio/orders/{order_id}").status == 404
        small = b.rest(ticker, "bid", "3", "0.10")
        assert b.call("DELETE", f"/portfolio/events/orders/{small}").json()["reduced_by"] == "3.00"
        assert (_money(a), _money(b)) == (("492.1700", "2.3700"), ("293.1900", "0.0000"))
        # 6
        sold = b.v2(ticker, "ask", "5", "0.47", time_in_force="immediate_or_cancel")
        assert sold.json()["fill_count"] == "5.00", sold
        assert _money(a) == ("492.1700", "0.0000")  # 500 - 5.46 - 2.37
        assert _money(b) == ("290.4500", "0.0000")  # 300 - 6.81 - 2.74
        order = a.order(order_id)
        assert (order["status"], order["maker_fees_dollars"], order["maker_fill_cost_dollars"]) == ("executed", "0.0800", "7.7500")
        assert _position(a, ticker) == ("17.00", "7.7500", "0.0000", "0.0800")
        assert _position(b, ticker) == ("-17.00", "9.2500", "0.0000", "0.3000")
        # 7
        offer = a.legacy(ticker, "yes", "sell", 7, 60)
        assert offer.status == 201 and _money(a) == ("492.1700", "0.0000"), offer  # selling what it holds locks nothing
        bought = b.v2(ticker, "bid", "7", "0.60")
        assert (bought.json()["fill_count"], bought.json()["average_fill_price"]) == ("7.00", "0.6000"), bought
        assert _money(a) == ("496.3400", "0.0000")
        assert _money(b) == ("293.1300", "0.0000")
        assert _position(a, ticker) == ("10.00", "4.558824", "1.008824", "0.1100")
        assert _position(b, ticker) == ("-10.00", "5.441177", "-1.008823", "0.4200")
        fills = a.fills(f"ticker={ticker}")
        assert [(f["side"], f["action"], f["count"], f["yes_price"], f["fee_cost"], f["is_taker"]) for f in fills] == [
            ("yes", "sell", 7, 60, "0.0300", False), ("yes", "buy", 5, 47, "0.0200", False), ("yes", "buy", 12, 45, "0.0600", False)]
        assert [(f["side"], f["action"], f["fee_cost"], f["is_taker"]) for f in b.fills(f"ticker={ticker}")] == [
            ("yes", "buy", "0.1200", True), ("no", "buy", "0.0900", True), ("no", "buy", "0.2100", True)]
        # money is conserved: cash + the pool of 10 pairs + fees = deposits
        assert dollars("496.34") + dollars("293.13") + dollars("10.00") + dollars("0.11") + dollars("0.42") == dollars("800.00")

        # 8
        settle(server, ticker, "yes")
        assert (_money(a), _money(b)) == (("506.3400", "0.0000"), ("293.1300", "0.0000"))
        [mine] = conforms(a.call("GET", "/portfolio/settlements"), "GET", "/portfolio/settlements")["settlements"]
        assert (mine["market_result"], mine["yes_count"], mine["yes_total_cost_dollars"], mine["revenue"], mine["fee_cost"], mine["value"]) == (
            "yes", 10, "4.558824", 1000, "0.1100", 100)
        [theirs] = b.ok("/portfolio/settlements")["settlements"]
        assert (theirs["no_count"], theirs["no_total_cost_dollars"], theirs["revenue"], theirs["fee_cost"]) == (10, "5.441177", 0, "0.4200")
        # the whole life of each position: A 1.008824 + (10.00 - 4.558824) = 6.45; B -1.008823 - 5.441177 = -6.45
        assert _position(a, ticker) == ("0.00", "0.0000", "6.4500", "0.1100")
        assert _position(b, ticker) == ("0.00", "0.0000", "-6.4500", "0.4200")
        # net: A +6.45 - 0.11 = +6.34 on $500; B -6.45 - 0.42 = -6.87 on $300
        assert a.positions()["market_positions"] == [] and b.positions()["market_positions"] == []
        market = server.get_ok(f"{V2}/markets/{ticker}")["market"]
        assert (market["status"], market["result"], market["volume_fp"]) == ("finalized", "yes", "24.00")

    verify = subprocess.run(_predictex("journal", "verify"), capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PREDICTEX_DATA_DIR": str(data_dir)})
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "journal OK" in verify.stdout
    commands = int(next(line for line in verify.stdout.splitlines() if line.startswith("commands:")).split(":")[1])
    assert commands > 20


def _predictex(*arguments: str) -> list[str]:
    """The `predictex` command installed beside this interpreter, else `python -m predictex`."""
    script = Path(sys.executable).with_name("predictex")
    return [str(script), *arguments] if script.exists() else [sys.executable, "-m", "predictex", *arguments]

"""Commands and events as plain lists, `[TYPE, field, field, ...]`, for journals and logs.

Only ints, strings, bools and lists of them appear, so the lists round-trip through JSON (and any
other plain serializer) exactly: an event's enums (an order's time in force, status, action, close
reason; a market's status) are strings, and encode as their values; decoding turns the values back into
members.
Decoding checks the shape: a wrong type name or arity, or a value no member has, raises `CodecError`
(and so does a wrong field type where the classes are compiled, which check their arguments) rather
than building a half-valid object.
"""

from __future__ import annotations

from typing import Any

from predictex.core.commands import COMMAND_TYPES, BatchCreateOrders, Command, CreateMarket, CreateOrder
from predictex.core.events import EVENT_TYPES, Event, MarketStatusChanged, OrderAccepted, OrderClosed
from predictex.core.instruments import MARKET_STATUS_BY_VALUE
from predictex.core.orders import ACTION_BY_VALUE, CLOSE_REASON_BY_VALUE, ORDER_STATUS_BY_VALUE, TIME_IN_FORCE_BY_VALUE


class CodecError(ValueError):
    pass


def encode_command(command: Command) -> list[Any]:
    out: list[Any] = [command.TYPE]
    if isinstance(command, BatchCreateOrders):
        out.append(command.account_id)
        out.append([encode_command(item) for item in command.orders])
        return out
    out.extend(command.values())
    return out


_EVENT_TYPE_NAMES: dict[type[Event], str] = {cls: name for name, cls in EVENT_TYPES.items()}


def encode_event(event: Event) -> list[Any]:
    out: list[Any] = event.values()  # a new list each call
    name = _EVENT_TYPE_NAMES.get(type(event))  # cheaper than the class attribute on a compiled instance
    out.insert(0, event.TYPE if name is None else name)
    return out


def encode_events(events: list[Event]) -> list[list[Any]]:
    return [encode_event(event) for event in events]


def decode_command(data: object) -> Command:
    if not isinstance(data, list) or not data or not isinstance(data[0], str):
        raise CodecError("a command is a list starting with its type")
    cls = COMMAND_TYPES.get(data[0])
    if cls is None:
        raise CodecError(f"unknown command type {data[0]!r}")
    args = data[1:]
    if len(args) != len(cls.FIELDS):
        raise CodecError(f"{cls.TYPE} takes {len(cls.FIELDS)} fields, got {len(args)}")
    if cls is BatchCreateOrders:
        if not isinstance(args[0], int) or not isinstance(args[1], list):
            raise CodecError("batch_create_orders takes an account id and a list of orders")
        items = [decode_command(item) for item in args[1]]
        if not all(isinstance(item, CreateOrder) for item in items):
            raise CodecError("a batch holds create_order commands only")
        return BatchCreateOrders(args[0], [item for item in items if isinstance(item, CreateOrder)])
    try:
        if cls is CreateMarket:  # its constructor takes its fields in another order (most have defaults)
            return cls(**dict(zip(cls.FIELDS, args, strict=True)))
        return cls(*args)  # every other constructor takes its FIELDS in order
    except TypeError as error:
        raise CodecError(f"{cls.TYPE}: {error}") from error


# the events' enum fields: (position among the event's fields, the members by value)
_ENUM_FIELDS: dict[type[Event], tuple[tuple[int, dict[str, Any]], ...]] = {
    OrderAccepted: (
        (OrderAccepted.FIELDS.index("time_in_force"), dict(TIME_IN_FORCE_BY_VALUE)),
        (OrderAccepted.FIELDS.index("action"), dict(ACTION_BY_VALUE)),
    ),
    OrderClosed: (
        (OrderClosed.FIELDS.index("status"), dict(ORDER_STATUS_BY_VALUE)),
        (OrderClosed.FIELDS.index("reason"), dict(CLOSE_REASON_BY_VALUE)),
        (OrderClosed.FIELDS.index("time_in_force"), dict(TIME_IN_FORCE_BY_VALUE)),
        (OrderClosed.FIELDS.index("action"), dict(ACTION_BY_VALUE)),
    ),
    MarketStatusChanged: (
        (MarketStatusChanged.FIELDS.index("previous_status"), dict(MARKET_STATUS_BY_VALUE)),
        (MarketStatusChanged.FIELDS.index("status"), dict(MARKET_STATUS_BY_VALUE)),
    ),
}


def decode_event(data: object) -> Event:
    if not isinstance(data, list) or not data or not isinstance(data[0], str):
        raise CodecError("an event is a list starting with its type")
    cls = EVENT_TYPES.get(data[0])
    if cls is None:
        raise CodecError(f"unknown event type {data[0]!r}")
    args = data[1:]
    if len(args) != len(cls.FIELDS):
        raise CodecError(f"{cls.TYPE} takes {len(cls.FIELDS)} fields, got {len(args)}")
    enums = _ENUM_FIELDS.get(cls)
    if enums is not None:
        for index, members in enums:
            member = members.get(args[index]) if isinstance(args[index], str) else None
            if member is None:
                raise CodecError(f"{cls.TYPE}: {cls.FIELDS[index]} {args[index]!r} is not one of {', '.join(members)}")
            args[index] = member
    try:
        return cls(*args)  # every event's constructor takes its FIELDS in order
    except TypeError as error:
        raise CodecError(f"{cls.TYPE}: {error}") from error

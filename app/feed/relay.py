"""The relay: the change feed published to a broker consumers already run, at least once and in
order, resuming after a crash from the last change the broker acknowledged.

`conflict-events relay --to amqp://… | nats://…` reads the feed from the database (woken by
NOTIFY like a long-poll) and publishes each change, one after the other, waiting for the
broker's acknowledgement before the next, so the broker holds them in seq order. Where it
resumes is kept in the broker itself, never in the relay:

- **NATS JetStream**: a stream `NAME` on subjects `NAME.changes.<resource>`; every message
  carries its seq as `Nats-Msg-Id`, and on start the relay reads the stream's last message and
  resumes after its seq. JetStream's duplicate window drops a re-publish of the same id, so a
  relay killed between the acknowledgement and its next message repeats nothing.
- **RabbitMQ**: a durable topic exchange `NAME` (routing key `changes.<resource>`) with a
  durable queue `NAME` bound to it, and a queue `NAME.relay-position` that keeps only its
  newest message (`x-max-length` 1): after each batch of changes the broker confirmed, the
  relay publishes the batch's last seq there, and on start reads it back. The changes queue
  cannot say where it ends (its consumers take messages off it), hence the position queue. A
  relay killed inside a batch re-publishes that batch: at most `--batch` duplicates, each
  carrying its seq (`message_id`) so a consumer can drop what it has seen.

Messages are the change as `/v1/changes` shows it (without the author's key name, which only
write keys see), as JSON.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urlsplit

import aio_pika
import nats
import orjson
from nats.js.errors import NotFoundError

from app.db.session import session_factory
from app.feed.changes import changes_after
from app.feed.model import Change
from app.feed.notify import wait_for
from app.feed.routes import change_item

log = logging.getLogger("conflict_events.relay")

SCHEMES = ("amqp", "amqps", "nats", "tls")
CONNECT_TIMEOUT = 10.0  # seconds
POSITION_READS = 5  # RabbitMQ: reads of an empty position queue before it counts as no position
POSITION_RETRY_DELAY = 0.1  # seconds between them
# what a broker raises when it cannot be reached or refuses
BROKER_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    aio_pika.exceptions.AMQPError,
    nats.errors.Error,
)


class Broker(Protocol):
    async def position(self) -> int:
        """The seq of the last change the broker holds (0: none)."""
        ...

    async def publish(self, change: Change, body: bytes) -> None:
        """Publish one change and return once the broker acknowledged it."""
        ...

    async def acknowledged(self, seq: int) -> None:
        """Every change up to `seq` was acknowledged (where the broker keeps the position)."""
        ...

    async def close(self) -> None: ...


async def _quiet(error: Exception) -> None:
    """nats-py reports connection errors here as well as raising them: they are raised."""


class JetStream:
    def __init__(self, url: str, name: str) -> None:
        self.url, self.name = url, name

    async def open(self) -> JetStream:
        # nats-py retries a refused first connection by itself: bounded here
        self.connection = await asyncio.wait_for(
            nats.connect(self.url, connect_timeout=5, allow_reconnect=False, error_cb=_quiet),
            CONNECT_TIMEOUT,
        )
        self.stream = self.connection.jetstream()
        try:
            await self.stream.stream_info(self.name)
        except NotFoundError:
            await self.stream.add_stream(name=self.name, subjects=[f"{self.name}.changes.>"])
        return self

    async def position(self) -> int:
        last = (await self.stream.stream_info(self.name)).state.last_seq
        if not last:
            return 0
        message = await self.stream.get_msg(self.name, last)
        return int((message.headers or {}).get("Nats-Msg-Id", 0))

    async def publish(self, change: Change, body: bytes) -> None:
        subject = f"{self.name}.changes.{change.resource}"
        await self.stream.publish(subject, body, headers={"Nats-Msg-Id": str(change.seq)})

    async def acknowledged(self, seq: int) -> None:
        return None  # the stream's last message is the position

    async def close(self) -> None:
        await self.connection.close()


class RabbitMQ:
    def __init__(self, url: str, name: str) -> None:
        self.url, self.name = url, name
        self.position_queue = f"{name}.relay-position"

    async def open(self) -> RabbitMQ:
        self.connection = await aio_pika.connect(self.url, timeout=CONNECT_TIMEOUT)
        self.channel = await self.connection.channel(publisher_confirms=True)
        self.exchange = await self.channel.declare_exchange(
            self.name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await self.channel.declare_queue(self.name, durable=True)
        await queue.bind(self.exchange, "changes.#")
        self.positions = await self.channel.declare_queue(
            self.position_queue, durable=True, arguments={"x-max-length": 1}
        )
        return self

    async def position(self) -> int:
        """The newest position message, read and put back. While another reader holds it (a
        monitor, a test polling the position) the queue looks empty, and reading that as
        "nothing relayed yet" would re-send the whole feed: an empty queue is asked again a
        few times before it counts as no position."""
        for _ in range(POSITION_READS):
            message = await self.positions.get(no_ack=False, fail=False)
            if message is not None:
                await message.nack(requeue=True)  # it stays the position until a newer one replaces it
                return int(message.body)
            await asyncio.sleep(POSITION_RETRY_DELAY)
        return 0

    async def publish(self, change: Change, body: bytes) -> None:
        message = aio_pika.Message(
            body,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=str(change.seq),
            headers={"seq": change.seq},
        )
        await self.exchange.publish(message, routing_key=f"changes.{change.resource}")

    async def acknowledged(self, seq: int) -> None:
        message = aio_pika.Message(str(seq).encode(), delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        await self.channel.default_exchange.publish(message, routing_key=self.position_queue)

    async def close(self) -> None:
        await self.connection.close()


async def open_broker(url: str, name: str) -> Broker:
    scheme = urlsplit(url).scheme
    if scheme in ("nats", "tls"):
        return await JetStream(url, name).open()
    return await RabbitMQ(url, name).open()


def _read(after: int, limit: int) -> list[Change]:
    with session_factory()() as session:
        return changes_after(session, after, limit)


async def relay(broker: Broker, *, batch: int = 100, idle: float = 30.0, until_seq: int | None = None) -> int:
    """Publish every change after the broker's position, then each new one as it commits; with
    `until_seq`, return once that seq is published. The last seq published."""
    position = await broker.position()
    log.info("relay: resuming after seq %d", position)
    while until_seq is None or position < until_seq:

        async def look(after: int = position) -> Sequence[Change]:
            return await asyncio.to_thread(_read, after, batch)

        rows = await wait_for(look, idle)
        for row in rows:
            await broker.publish(row, orjson.dumps(change_item(row, show_key=False)))
        if rows:
            position = rows[-1].seq or position
            await broker.acknowledged(position)
    return position

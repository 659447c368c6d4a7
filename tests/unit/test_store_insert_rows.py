"""``insert_rows``: the pipeline's executemany path writes what SQLAlchemy's own insert would write,
on SQLite and on this machine's PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from gateway.store.engine import make_engine
from gateway.store.tables import exchanges, metadata, outbox
from gateway.store.upsert import insert_rows
from tests.conftest import require_service
from tests.delivery_support import item_rows
from tests.pg import temporary_database

AT = dt.datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('rows') / 'gateway.db'}"
        built = make_engine(url)
        metadata.create_all(built)
        _exchange(built)
        yield built
        built.dispose()
        return
    require_service("PostgreSQL", "127.0.0.1", 5432)
    with temporary_database(f"gw_rows_{uuid.uuid4().hex[:8]}") as url:
        built = make_engine(url)
        metadata.create_all(built)
        _exchange(built)
        yield built
        built.dispose()


def _exchange(engine: Engine) -> None:
    """The exchange the outbox rows belong to."""
    values = {"id": "x1", "received_at": AT, "updated_at": AT, "endpoint": "e", "sender": "s"}
    values |= {"transport": "t", "size": 0, "digest": "d", "idempotency_key": "k", "status": "received"}
    values |= {"records_total": 0, "records_ok": 0, "records_rejected": 0}
    with engine.begin() as connection:
        connection.execute(insert(exchanges), values)


def _item(key: str, payload: object) -> dict[str, object]:
    (row,) = item_rows("x1", 1)
    row["idempotency_key"], row["payload"], row["created_at"] = key, payload, AT
    return row


def test_rows_read_back_as_sqlalchemy_writes_them(engine: Engine) -> None:
    payload = {"bundle": {"entry": [{"resource": {"name": "Élodie", "n": 3, "ok": True, "none": None}}]}}
    with engine.begin() as connection:
        insert_rows(connection, outbox, [_item("k1", payload), _item("k2", None)])
        connection.execute(insert(outbox), [_item("k3", payload)])  # SQLAlchemy's own path
    with engine.connect() as connection:
        rows = {r.idempotency_key: r for r in connection.execute(select(outbox))}
    assert rows["k1"].payload == rows["k3"].payload == payload
    assert rows["k2"].payload is None
    for key in ("k1", "k3"):
        assert rows[key].created_at.replace(tzinfo=dt.UTC) == AT  # microseconds kept, same value


def test_conflicts_are_skipped_when_asked_and_refused_otherwise(engine: Engine) -> None:
    with engine.begin() as connection:
        insert_rows(connection, outbox, [_item("k1", {"v": 1})])
    with engine.begin() as connection:
        insert_rows(
            connection,
            outbox,
            [_item("k1", {"v": 2}), _item("k2", {"v": 3})],
            skip_conflicts_on=["idempotency_key"],
        )
    with engine.connect() as connection:
        stored = dict(connection.execute(select(outbox.c.idempotency_key, outbox.c.payload)).all())
    assert stored == {"k1": {"v": 1}, "k2": {"v": 3}}
    with pytest.raises(IntegrityError, match=r"(?i)unique|duplicate"), engine.begin() as connection:
        insert_rows(connection, outbox, [_item("k1", {"v": 4})])


def test_rows_with_other_columns_are_refused(engine: Engine) -> None:
    short = _item("k2", None)
    del short["batch_key"]  # a column missing from a later row
    with pytest.raises((ValueError, KeyError)), engine.begin() as connection:
        insert_rows(connection, outbox, [_item("k1", None), short])
    extra = {**_item("k3", None), "updated_at": AT}  # a column more in a later row
    with pytest.raises(ValueError, match="same columns"), engine.begin() as connection:
        insert_rows(connection, outbox, [_item("k4", None), extra])


def test_awkward_text_survives_the_copy_stream(engine: Engine) -> None:
    """On PostgreSQL these rows go through COPY's text format, where tabs, newlines, backslashes and
    ``\\N`` (its null marker) must be escaped; None must stay NULL, not become text."""
    awkward = 'tab\there\nnew line\\back\\slash \\N "quoted" Ωmega \r end'
    row = _item("k1", {"text": awkward, "nested": [awkward, {"k\tey": awkward}]})
    row["last_error"], row["receipt"], row["batch_key"] = awkward, "\\N", None
    with engine.begin() as connection:
        insert_rows(connection, outbox, [row])
    with engine.connect() as connection:
        stored = connection.execute(select(outbox)).one()
    assert stored.payload == {"text": awkward, "nested": [awkward, {"k\tey": awkward}]}
    assert stored.last_error == awkward
    assert stored.receipt == "\\N"
    assert stored.batch_key is None

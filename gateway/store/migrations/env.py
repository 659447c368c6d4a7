"""Alembic environment: runs migrations on the URL given by gateway.store.engine.alembic_config."""

from __future__ import annotations

from alembic import context

from gateway.store.engine import make_engine
from gateway.store.tables import metadata

config = context.config
target_metadata = metadata


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()

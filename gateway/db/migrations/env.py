"""Alembic environment. The gateway runs migrations itself (gateway.db.migrate) on a connection it
passes in; there is no alembic.ini and no URL here."""

from alembic import context

from gateway.db.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite can only ALTER by copying
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

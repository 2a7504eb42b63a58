"""Alembic revisions: 0001 auth (users, keys, audit, settings), 0002 ledger, ..."""

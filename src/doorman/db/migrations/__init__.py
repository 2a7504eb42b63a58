"""Alembic environment and revisions, shipped as package files (no alembic.ini on disk)."""

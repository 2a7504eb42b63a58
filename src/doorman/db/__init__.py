"""Database: engine factory, ORM models and Alembic migrations shipped inside the package."""

"""Persistence: SQLAlchemy tables, the repository/unit-of-work store, Alembic migrations."""

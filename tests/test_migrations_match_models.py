"""The models and the migrations describe the same schema.

Alembic's autogenerate comparison (`compare_metadata`: tables, columns, types, nullability, server
defaults, indexes, unique constraints, foreign keys) of the models against a database the
migrations built finds nothing to do: on PostgreSQL (the session's database, built by
`flask_migrate.upgrade()` in tests/conftest.py) and on SQLite (`make run`'s database). A
difference fails with one line per difference, in the words of the migration it calls for.
"""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import (
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.schema import CreateIndex, DefaultClause
from sqlalchemy.types import INTEGER, BigInteger, SmallInteger

from saas import create_app
from saas.extensions import db
from tests.conftest import TEST_REDIS_URL, app_config

OPTIONS = {"compare_type": True, "compare_server_default": True}


def _value(value) -> str:
    if isinstance(value, DefaultClause):
        value = value.arg
    return str(getattr(value, "text", value))


def _describe(diff) -> str:
    """One line for one difference (Alembic gives tuples, a list of them for a column)."""
    if isinstance(diff, list):
        return "; ".join(_describe(d) for d in diff)
    kind = diff[0]
    if kind in ("add_table", "remove_table"):
        return f"{kind} {diff[1].name}"
    if kind in ("add_column", "remove_column"):
        _, _, table, column = diff
        return f"{kind} {table}.{column.name} {column.type} nullable={column.nullable}"
    if kind.startswith("modify_"):
        _, _, table, column, _, old, new = diff
        return f"{kind} {table}.{column}: migrations give {_value(old)}, the model says " \
               f"{_value(new)}"
    if kind in ("add_index", "remove_index"):
        index = diff[1]
        what = ", ".join(str(e) for e in index.expressions)
        return f"{kind} {index.name} on {index.table.name} ({what}) unique={bool(index.unique)}"
    if kind in ("add_constraint", "remove_constraint"):
        constraint = diff[1]
        columns = ", ".join(c.name for c in constraint.columns)
        return f"{kind} {type(constraint).__name__} {constraint.name} on " \
               f"{constraint.table.name} ({columns})"
    if kind in ("add_fk", "remove_fk"):
        fk = diff[1]
        target = fk.elements[0].target_fullname if fk.elements else "?"
        return f"{kind} {fk.name} on {fk.parent.name} ({', '.join(fk.column_keys)}) -> " \
               f"{target} ondelete={fk.ondelete}"
    return repr(diff)


def _for_another_dialect(obj, dialect: str) -> bool:
    """A model index or constraint that only one other database creates (`.ddl_if(dialect=...)`):
    its absence there is what the model says."""
    condition = getattr(obj, "_ddl_if", None)
    return condition is not None and condition.dialect not in (None, dialect)


def _differences(connection, metadata, ignore=lambda diff: False) -> list[str]:
    dialect = connection.dialect.name

    def include_object(obj, name, type_, reflected, compare_to):
        return reflected or not _for_another_dialect(obj, dialect)

    context = MigrationContext.configure(connection, opts={**OPTIONS,
                                                           "include_object": include_object})
    with warnings.catch_warnings():
        # An index expression that carries its operator class (ix_record_search's
        # `... gin_trgm_ops`) is one Alembic does not compare, saying so in a warning; it is
        # still compared by name and uniqueness here, and its expression by PostgreSQL in
        # test_expression_indexes_match_on_postgresql.
        warnings.filterwarnings("ignore", message=r".*detected to include an operator clause")
        # SQLite cannot reflect expression indexes, so Alembic skips the model's (with a
        # warning) before include_object can say it is PostgreSQL's only.
        warnings.filterwarnings("ignore", message=r".*skipping metadata-specified expression-based")
        diffs = compare_metadata(context, metadata)
    return [_describe(d) for d in diffs if not ignore(d)]


def _report(found: list[str]) -> str:
    return ("the models and the migrations differ (a new migration or a model change is due):\n  "
            + "\n  ".join(found))


def test_postgresql_schema_built_by_the_migrations_is_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        found = _differences(connection, db.metadata)
    assert not found, _report(found)


def _sqlite_integer_width(diff) -> bool:
    """SQLite gives every integer type the same storage (INTEGER affinity, up to 8 bytes); the
    width only matters for a primary key, which is a rowid alias only when declared INTEGER
    (BigId is INTEGER there for that reason), so a non-key BIGINT/INTEGER difference is noise
    (connect_job.last_record_id was added as BIGINT, its model column is BigId)."""
    if not (isinstance(diff, list) and len(diff) == 1 and diff[0][0] == "modify_type"):
        return False
    _, _, table, column, _, old, new = diff[0]
    integers = (INTEGER, Integer, BigInteger, SmallInteger)
    primary = db.metadata.tables[table].c[column].primary_key
    return not primary and isinstance(old, integers) and isinstance(new, integers)


def test_sqlite_schema_built_by_the_migrations_is_the_models(tmp_path):
    sqlite_app = create_app(app_config(DATABASE_URL=f"sqlite:///{tmp_path / 'drift.db'}",
                                       REDIS_URL=TEST_REDIS_URL))
    with sqlite_app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            found = _differences(connection, db.metadata, ignore=_sqlite_integer_width)
        db.session.remove()
        db.engine.dispose()
    assert not found, _report(found)


def _expression_indexes():
    for table in db.metadata.sorted_tables:
        for index in table.indexes:
            if not all(isinstance(e, Column) for e in index.expressions) \
                    and not _for_another_dialect(index, "postgresql"):
                yield index


def test_expression_indexes_match_on_postgresql(app):
    """Alembic cannot compare an index expression with its operator class, so PostgreSQL writes
    both out: the model's index is created under another name in a transaction that is rolled
    back, and its definition must read as the one the migrations made."""
    indexes = list(_expression_indexes())
    assert indexes, "no expression index left: this test has nothing to check"
    definition = text("SELECT indexdef FROM pg_indexes WHERE indexname = :name")
    probe = "drift_probe"
    with app.app_context(), db.engine.connect() as connection:
        for index in indexes:
            ddl = str(CreateIndex(index).compile(dialect=connection.dialect))
            with connection.begin() as transaction:
                migrated = connection.execute(definition, {"name": index.name}).scalar()
                connection.execute(text(ddl.replace(f"INDEX {index.name} ON",
                                                    f"INDEX {probe} ON", 1)))
                modelled = connection.execute(definition, {"name": probe}).scalar()
                transaction.rollback()
            assert migrated is not None, f"the migrations do not create {index.name}"
            assert modelled.replace(probe, index.name, 1) == migrated, \
                f"{index.name}: the migrations made\n  {migrated}\nthe model says\n  {modelled}"


def test_the_comparison_sees_each_kind_of_difference(app):
    """The check above can fail: a copy of the models with one change of each kind is reported,
    one line each."""
    changed = MetaData(naming_convention=db.metadata.naming_convention)
    for table in db.metadata.sorted_tables:
        table.to_metadata(changed)
    record, step = changed.tables["record"], changed.tables["step"]
    record.append_column(Column("nickname", String(40), nullable=True))  # a column
    record.c.first_name.type = String(200)                               # a type
    record.c.company.nullable = True                                     # a nullability
    record.indexes.discard(next(i for i in record.indexes if i.name == "ix_record_company"))
    step.append_constraint(UniqueConstraint("tenant_id", "name", name="uq_step_name"))
    step.append_constraint(ForeignKeyConstraint(["parent_id"], ["sequence.id"],  # a foreign key
                                                name="fk_step_parent_id_sequence"))
    Index("ix_step_name", step.c.name)                                   # an index

    with app.app_context(), db.engine.connect() as connection:
        found = "\n".join(_differences(connection, changed))
    assert "add_column record.nickname VARCHAR(40)" in found
    assert "modify_type record.first_name" in found and "VARCHAR(200)" in found
    assert "modify_nullable record.company: migrations give False, the model says True" in found
    assert "remove_index ix_record_company on record" in found
    assert "add_index ix_step_name on step" in found
    assert "add_constraint UniqueConstraint uq_step_name on step (tenant_id, name)" in found
    assert "add_fk fk_step_parent_id_sequence on step (parent_id) -> sequence.id" in found
    assert len(found.splitlines()) == 7, found

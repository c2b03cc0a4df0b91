from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from saas.config import PROJECT_ROOT
from saas.extensions import db


def test_single_migration_head():
    config = Config(str(PROJECT_ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}"


def test_migrations_build_every_model_table(app):
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert {t.name for t in db.metadata.sorted_tables} <= tables


def test_migration_file_names_start_with_the_date():
    for path in (PROJECT_ROOT / "migrations" / "versions").glob("*.py"):
        assert path.name[:10].replace("_", "").isdigit(), path.name

"""languages: the user's, the workspace's, the record's; templates in several languages

A user's language (NULL until they choose one: the browser's then speaks), the workspace's
default language (English for existing workspaces), a record's language (NULL: the workspace's),
and a template's versions in other languages (rows pointing to the template a step picks).

Revision ID: f3a8c2d9e1b7
Revises: b4e1d9a27c35
Create Date: 2026-12-03 12:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'f3a8c2d9e1b7'
down_revision = 'b4e1d9a27c35'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("user_account", sa.Column("language", sa.String(8), nullable=True))
    op.add_column("tenant", sa.Column("language", sa.String(8), nullable=False,
                                      server_default="en"))
    op.add_column("record", sa.Column("language", sa.String(8), nullable=True))
    # In a batch: SQLite (the zero-setup database) adds a foreign key by rebuilding the table.
    with op.batch_alter_table("message_template") as batch:
        batch.add_column(sa.Column("translation_of_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_message_template_translation_of_id_message_template",
                                 "message_template", ["translation_of_id"], ["id"],
                                 ondelete="CASCADE")
    op.create_index("uq_message_template_translation", "message_template",
                    ["tenant_id", "translation_of_id", "language"], unique=True,
                    postgresql_where=sa.text("translation_of_id IS NOT NULL"),
                    sqlite_where=sa.text("translation_of_id IS NOT NULL"))


def downgrade():
    op.drop_index("uq_message_template_translation", table_name="message_template")
    with op.batch_alter_table("message_template") as batch:
        batch.drop_constraint("fk_message_template_translation_of_id_message_template",
                              type_="foreignkey")
        batch.drop_column("translation_of_id")
    op.drop_column("record", "language")
    op.drop_column("tenant", "language")
    op.drop_column("user_account", "language")

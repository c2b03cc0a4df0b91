"""records: a LinkedIn address on leads and opportunities

`record.linkedin_url` is a person's profile or a company page on LinkedIn, stored as
saas.records.linkedin writes it (https, no query string, at most 300 characters). The LinkedIn
steps of a sequence show it to the seller with an "Open LinkedIn" link.

Revision ID: e6f2b8c31d52
Revises: d5e1a7b20c41
Create Date: 2026-12-04 20:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "e6f2b8c31d52"
down_revision = "d5e1a7b20c41"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("record") as batch:
        batch.add_column(sa.Column("linkedin_url", sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table("record") as batch:
        batch.drop_column("linkedin_url")

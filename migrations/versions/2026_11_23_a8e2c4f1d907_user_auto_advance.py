"""user auto advance (worklist setting)

Revision ID: a8e2c4f1d907
Revises: 50014d57680e
Create Date: 2026-11-23 18:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a8e2c4f1d907'
down_revision = '50014d57680e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auto_advance', sa.Boolean(), server_default='false',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('auto_advance')

"""notification outbox: the condition a message rests on, and a dated template's variables

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notification_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('context', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('condition', sa.String(length=48), nullable=True))
        batch_op.add_column(sa.Column('condition_args', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('notification_outbox', schema=None) as batch_op:
        batch_op.drop_column('condition_args')
        batch_op.drop_column('condition')
        batch_op.drop_column('context')

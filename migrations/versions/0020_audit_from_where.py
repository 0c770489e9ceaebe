"""audit log: from where (the client's address, the request id), and an index by actor

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_address', sa.String(length=45), nullable=True))
        batch_op.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))
        batch_op.create_index(
            'ix_audit_log_actor', ['actor_type', 'actor_id', 'at'], unique=False
        )


def downgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_actor')
        batch_op.drop_column('request_id')
        batch_op.drop_column('client_address')

"""limits move to the limiter's store (core.limits): the attempt counters go, and a login code no
longer keeps the address that asked for it (it was there only to count sends per address)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 00:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_table('attempt_counters')
    with op.batch_alter_table('one_time_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_one_time_codes_ip_created')
        batch_op.drop_column('ip_hash')


def downgrade():
    with op.batch_alter_table('one_time_codes', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('ip_hash', sa.String(length=64), nullable=False, server_default='')
        )
        batch_op.create_index('ix_one_time_codes_ip_created', ['ip_hash', 'created_at'], unique=False)
    op.create_table('attempt_counters',
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('takings', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'key', name=op.f('pk_attempt_counters'))
    )

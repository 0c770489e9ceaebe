"""certificates: room for the longer, unguessable numbers (year, 80 random bits, check);
audit log: an index by target (a donor's accesses; the desk's look-ups of a donor today)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.alter_column(
            'number',
            existing_type=sa.String(length=20),
            type_=sa.String(length=32),
            existing_nullable=False,
        )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(
            'ix_audit_log_target', ['target_type', 'target_id', 'at'], unique=False
        )


def downgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_target')
    # Refused by PostgreSQL while a number issued since the upgrade (26 characters) is stored.
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.alter_column(
            'number',
            existing_type=sa.String(length=32),
            type_=sa.String(length=20),
            existing_nullable=False,
        )

"""certificates: room for the longer, unguessable numbers (year, 80 random bits, check)

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-02 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0009'
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


def downgrade():
    # Refused by PostgreSQL while a number issued since the upgrade (26 characters) is stored.
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.alter_column(
            'number',
            existing_type=sa.String(length=32),
            type_=sa.String(length=20),
            existing_nullable=False,
        )

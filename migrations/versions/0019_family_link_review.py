"""family links: rejected with a reason, the verifying hospital's name, erasable relatives

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('family_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verified_by_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reject_reason', sa.Text(), nullable=True))
        # A donor's erasure erases their relatives' names and ID numbers from the links.
        batch_op.alter_column('name', existing_type=sa.Text(), nullable=True)
        batch_op.alter_column('id_number', existing_type=sa.Text(), nullable=True)
        batch_op.alter_column('id_number_hash', existing_type=sa.String(length=64), nullable=True)


def downgrade():
    with op.batch_alter_table('family_links', schema=None) as batch_op:
        batch_op.alter_column('id_number_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('id_number', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('name', existing_type=sa.Text(), nullable=False)
        batch_op.drop_column('reject_reason')
        batch_op.drop_column('rejected_at')
        batch_op.drop_column('verified_by_name')

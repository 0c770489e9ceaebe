"""team members: the version of the consent text each member agreed to

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 04:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    # A default only while the column is added (rows written before it, if any, agreed to a
    # text whose version was not kept); the service always writes the version.
    with op.batch_alter_table('team_members', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('consent_version', sa.String(length=32), nullable=False, server_default='')
        )
    with op.batch_alter_table('team_members', schema=None) as batch_op:
        batch_op.alter_column('consent_version', server_default=None)


def downgrade():
    with op.batch_alter_table('team_members', schema=None) as batch_op:
        batch_op.drop_column('consent_version')

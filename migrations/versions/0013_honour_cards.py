"""rewards: honour cards, signed and verified like certificates (issue 14)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 01:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('honour_cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('donor_id', sa.Integer(), nullable=False),
    sa.Column('basis', sa.String(length=80), nullable=False),
    sa.Column('award_grant_id', sa.Integer(), nullable=True),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('signed_token', sa.Text(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['award_grant_id'], ['award_grants.id'], name=op.f('fk_honour_cards_award_grant_id_award_grants')),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_honour_cards_donor_id_donors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_honour_cards')),
    sa.UniqueConstraint('donor_id', 'basis', name='uq_honour_cards_donor_basis'),
    sa.UniqueConstraint('number', name=op.f('uq_honour_cards_number'))
    )


def downgrade():
    op.drop_table('honour_cards')

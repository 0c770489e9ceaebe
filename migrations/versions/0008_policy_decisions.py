"""policy decisions of 2026-11-30: award counts in halves, donation reactions

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    # Counts become exact halves (300 ml of whole blood = 1.5), stored as whole half-counts.
    # Totals of donors with a 300 ml donation recorded before this revision are recomputed by
    # `flask certificate refresh-totals`.
    with op.batch_alter_table('donor_totals', schema=None) as batch_op:
        batch_op.alter_column('award_counts', new_column_name='award_half_counts')
    op.execute('UPDATE donor_totals SET award_half_counts = award_half_counts * 2')
    with op.batch_alter_table('benefit_applications', schema=None) as batch_op:
        batch_op.alter_column('counted', new_column_name='counted_half_counts')
    op.execute('UPDATE benefit_applications SET counted_half_counts = counted_half_counts * 2')

    op.create_table('donation_reactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('donation_id', sa.Integer(), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['donation_id'], ['donations.id'], name=op.f('fk_donation_reactions_donation_id_donations')),
    sa.ForeignKeyConstraint(['recorded_by'], ['staff_users.id'], name=op.f('fk_donation_reactions_recorded_by_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_donation_reactions'))
    )
    with op.batch_alter_table('donation_reactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_donation_reactions_donation_id'), ['donation_id'], unique=False)


def downgrade():
    with op.batch_alter_table('donation_reactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_donation_reactions_donation_id'))
    op.drop_table('donation_reactions')

    op.execute('UPDATE benefit_applications SET counted_half_counts = counted_half_counts / 2')
    with op.batch_alter_table('benefit_applications', schema=None) as batch_op:
        batch_op.alter_column('counted_half_counts', new_column_name='counted')
    op.execute('UPDATE donor_totals SET award_half_counts = award_half_counts / 2')
    with op.batch_alter_table('donor_totals', schema=None) as batch_op:
        batch_op.alter_column('award_half_counts', new_column_name='award_counts')

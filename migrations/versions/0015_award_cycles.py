"""rewards: award cycles, nominations confirmed by decision, grants checked against the record
and flagged for review when a void leaves the record short of them (issue 14 item 2)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 02:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('award_cycles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scheme', sa.String(length=40), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('period', sa.String(length=20), nullable=False),
    sa.Column('cut_off', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_by', sa.Integer(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decision', sa.String(length=200), nullable=True),
    sa.Column('awarded_on', sa.Date(), nullable=True),
    sa.Column('granted', sa.Integer(), nullable=True),
    sa.Column('confirmed_by', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['confirmed_by'], ['staff_users.id'], name=op.f('fk_award_cycles_confirmed_by_staff_users')),
    sa.ForeignKeyConstraint(['opened_by'], ['staff_users.id'], name=op.f('fk_award_cycles_opened_by_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_cycles'))
    )
    op.create_index('uq_award_cycles_open', 'award_cycles', ['region', 'scheme', 'period'], unique=True, postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))
    op.create_table('award_cycle_exclusions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('donor_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['award_cycles.id'], name=op.f('fk_award_cycle_exclusions_cycle_id_award_cycles')),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_award_cycle_exclusions_donor_id_donors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_cycle_exclusions'))
    )
    op.create_index(op.f('ix_award_cycle_exclusions_cycle_id'), 'award_cycle_exclusions', ['cycle_id'], unique=False)
    with op.batch_alter_table('award_grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cycle_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('unsupported_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('review_flagged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('review_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('review_cleared_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('review_cleared_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('review_note', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_award_grants_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_award_grants_cycle_id_award_cycles'), 'award_cycles', ['cycle_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_award_grants_review_cleared_by_staff_users'), 'staff_users', ['review_cleared_by'], ['id'])


def downgrade():
    with op.batch_alter_table('award_grants', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_award_grants_review_cleared_by_staff_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_award_grants_cycle_id_award_cycles'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_award_grants_cycle_id'))
        batch_op.drop_column('review_note')
        batch_op.drop_column('review_cleared_by')
        batch_op.drop_column('review_cleared_at')
        batch_op.drop_column('review_reason')
        batch_op.drop_column('review_flagged_at')
        batch_op.drop_column('unsupported_reason')
        batch_op.drop_column('cycle_id')
    op.drop_index(op.f('ix_award_cycle_exclusions_cycle_id'), table_name='award_cycle_exclusions')
    op.drop_table('award_cycle_exclusions')
    op.drop_index('uq_award_cycles_open', table_name='award_cycles', postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))
    op.drop_table('award_cycles')

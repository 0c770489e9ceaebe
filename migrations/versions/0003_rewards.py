"""rewards: awards won, benefit applications and holdings, gate operators, devices and uses

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 05:08:59.630720

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('gate_operators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('benefit_kind', sa.String(length=64), nullable=False),
    sa.Column('contact', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gate_operators'))
    )
    op.create_table('award_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('donor_id', sa.Integer(), nullable=False),
    sa.Column('award', sa.String(length=40), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('period', sa.String(length=20), nullable=False),
    sa.Column('decision', sa.String(length=200), nullable=False),
    sa.Column('awarded_on', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.Integer(), nullable=True),
    sa.Column('revoke_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_award_grants_donor_id_donors')),
    sa.ForeignKeyConstraint(['recorded_by'], ['staff_users.id'], name=op.f('fk_award_grants_recorded_by_staff_users')),
    sa.ForeignKeyConstraint(['revoked_by'], ['staff_users.id'], name=op.f('fk_award_grants_revoked_by_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_grants')),
    sa.UniqueConstraint('donor_id', 'award', 'period', name='uq_award_grants_donor_award_period')
    )
    with op.batch_alter_table('award_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_grants_donor_id'), ['donor_id'], unique=False)

    op.create_table('benefit_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('donor_id', sa.Integer(), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('counted', sa.Integer(), nullable=False),
    sa.Column('required', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_benefit_applications_donor_id_donors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benefit_applications'))
    )
    with op.batch_alter_table('benefit_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_benefit_applications_donor_id'), ['donor_id'], unique=False)

    op.create_table('benefit_holders',
    sa.Column('donor_id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=24), nullable=False),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_benefit_holders_donor_id_donors')),
    sa.PrimaryKeyConstraint('donor_id', name=op.f('pk_benefit_holders')),
    sa.UniqueConstraint('ref', name=op.f('uq_benefit_holders_ref'))
    )
    op.create_table('benefit_uses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=24), nullable=False),
    sa.Column('jti', sa.String(length=32), nullable=False),
    sa.Column('donor_id', sa.Integer(), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('benefit_kind', sa.String(length=64), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_on', sa.Date(), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_benefit_uses_device_id_devices')),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_benefit_uses_donor_id_donors')),
    sa.ForeignKeyConstraint(['operator_id'], ['gate_operators.id'], name=op.f('fk_benefit_uses_operator_id_gate_operators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benefit_uses')),
    sa.UniqueConstraint('ref', 'jti', name='uq_benefit_uses_code')
    )
    with op.batch_alter_table('benefit_uses', schema=None) as batch_op:
        batch_op.create_index('ix_benefit_uses_operator_day', ['operator_id', 'used_on'], unique=False)

    op.create_table('gate_devices',
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_gate_devices_device_id_devices')),
    sa.ForeignKeyConstraint(['operator_id'], ['gate_operators.id'], name=op.f('fk_gate_devices_operator_id_gate_operators')),
    sa.PrimaryKeyConstraint('device_id', name=op.f('pk_gate_devices'))
    )
    with op.batch_alter_table('gate_devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gate_devices_operator_id'), ['operator_id'], unique=False)

    op.create_table('benefit_holdings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('donor_id', sa.Integer(), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('route', sa.String(length=32), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('award_grant_id', sa.Integer(), nullable=True),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_reason', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['benefit_applications.id'], name=op.f('fk_benefit_holdings_application_id_benefit_applications')),
    sa.ForeignKeyConstraint(['award_grant_id'], ['award_grants.id'], name=op.f('fk_benefit_holdings_award_grant_id_award_grants')),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_benefit_holdings_donor_id_donors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benefit_holdings'))
    )
    with op.batch_alter_table('benefit_holdings', schema=None) as batch_op:
        batch_op.create_index('ix_benefit_holdings_donor_region', ['donor_id', 'region'], unique=False)



def downgrade():
    with op.batch_alter_table('benefit_holdings', schema=None) as batch_op:
        batch_op.drop_index('ix_benefit_holdings_donor_region')

    op.drop_table('benefit_holdings')
    with op.batch_alter_table('gate_devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gate_devices_operator_id'))

    op.drop_table('gate_devices')
    with op.batch_alter_table('benefit_uses', schema=None) as batch_op:
        batch_op.drop_index('ix_benefit_uses_operator_day')

    op.drop_table('benefit_uses')
    op.drop_table('benefit_holders')
    with op.batch_alter_table('benefit_applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_benefit_applications_donor_id'))

    op.drop_table('benefit_applications')
    with op.batch_alter_table('award_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_grants_donor_id'))

    op.drop_table('award_grants')
    op.drop_table('gate_operators')

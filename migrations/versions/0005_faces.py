"""faces: consents to face checks and enrolled face encodings (encrypted)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 05:11:12.691082

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('face_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('donor_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('text_sha256', sa.String(length=64), nullable=False),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('client_ip', sa.Text(), nullable=True),
    sa.Column('device', sa.String(length=200), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawal_reason', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_face_consents_donor_id_donors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_face_consents'))
    )
    with op.batch_alter_table('face_consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_face_consents_donor_id'), ['donor_id'], unique=False)

    op.create_table('face_enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('donor_id', sa.Integer(), nullable=False),
    sa.Column('consent_id', sa.Integer(), nullable=False),
    sa.Column('encoding', sa.Text(), nullable=False),
    sa.Column('photo_jpeg', sa.Text(), nullable=True),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('face_pixels', sa.Integer(), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consent_id'], ['face_consents.id'], name=op.f('fk_face_enrolments_consent_id_face_consents')),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_face_enrolments_donor_id_donors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_face_enrolments')),
    sa.UniqueConstraint('donor_id', name=op.f('uq_face_enrolments_donor_id'))
    )


def downgrade():
    op.drop_table('face_enrolments')
    with op.batch_alter_table('face_consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_face_consents_donor_id'))

    op.drop_table('face_consents')

"""Commerce: durable restock reminders and their sends (issue 8).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table('commerce_reminders',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('customer_id', sa.String(length=64), nullable=False),
        sa.Column('sku', sa.String(length=64), nullable=False),
        sa.Column('product_name', sa.String(length=255), nullable=False),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('days_before', sa.Integer(), nullable=True),
        sa.Column('due', sa.Date(), nullable=False),
        sa.Column('runs_out', sa.Date(), nullable=False),
        sa.Column('last_purchase', sa.Date(), nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.CheckConstraint("source IN ('chat', 'orders')", name=op.f('ck_commerce_reminders_source')),
        sa.CheckConstraint("status IN ('active', 'sent', 'cancelled')", name=op.f('ck_commerce_reminders_status')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_commerce_reminders'))
    )
    op.create_index(op.f('ix_commerce_reminders_status_due'), 'commerce_reminders', ['status', 'due'], unique=False)
    op.create_index('uq_commerce_reminders_active', 'commerce_reminders', ['customer_id', 'sku'], unique=True,
                    sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
    op.create_table('commerce_reminder_sends',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('reminder_id', sa.String(length=32), nullable=False),
        sa.Column('customer_id', sa.String(length=64), nullable=False),
        sa.Column('cycle', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('recipient', sa.String(length=128), nullable=False),
        sa.Column('outbox_id', sa.String(length=32), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.CheckConstraint("kind IN ('restock', 'followup')", name=op.f('ck_commerce_reminder_sends_kind')),
        sa.ForeignKeyConstraint(['reminder_id'], ['commerce_reminders.id'],
                                name=op.f('fk_commerce_reminder_sends_reminder_id'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_commerce_reminder_sends')),
        sa.UniqueConstraint('reminder_id', 'cycle', name=op.f('uq_commerce_reminder_sends_reminder_id_cycle'))
    )
    op.create_index(op.f('ix_commerce_reminder_sends_customer_id_created_at'), 'commerce_reminder_sends',
                    ['customer_id', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_commerce_reminder_sends_customer_id_created_at'), table_name='commerce_reminder_sends')
    op.drop_table('commerce_reminder_sends')
    op.drop_index('uq_commerce_reminders_active', table_name='commerce_reminders',
                  sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
    op.drop_index(op.f('ix_commerce_reminders_status_due'), table_name='commerce_reminders')
    op.drop_table('commerce_reminders')

"""Proactive: storefront behaviour events, trigger sends (with the holdout flag), customer segments,
conversation outcomes (issue 11).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Frozen copies of the column types (a migration must not import today's models).
TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table('behaviour_events',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('visitor_id', sa.String(length=64), nullable=False),
        sa.Column('customer_id', sa.String(length=64), nullable=True),
        sa.Column('session_id', sa.String(length=64), nullable=True),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('sku', sa.String(length=64), nullable=True),
        sa.Column('dwell_s', sa.Float(), nullable=True),
        sa.Column('order_id', sa.String(length=64), nullable=True),
        sa.Column('amount', sa.Float(), nullable=True),
        sa.Column('skus', JSON, nullable=False),
        sa.Column('client_event_id', sa.String(length=64), nullable=True),
        sa.Column('occurred_at', TS, nullable=False),
        sa.Column('received_at', TS, nullable=False),
        sa.CheckConstraint("kind IN ('product_view', 'add_to_cart', 'checkout_started', 'order_placed', 'widget_opened')", name=op.f('ck_behaviour_events_kind')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_behaviour_events')),
        sa.UniqueConstraint('visitor_id', 'client_event_id', name=op.f('uq_behaviour_events_visitor_id_client_event_id'))
    )
    op.create_index(op.f('ix_behaviour_events_customer_id_occurred_at'), 'behaviour_events', ['customer_id', 'occurred_at'], unique=False)
    op.create_index(op.f('ix_behaviour_events_kind_occurred_at'), 'behaviour_events', ['kind', 'occurred_at'], unique=False)
    op.create_index(op.f('ix_behaviour_events_visitor_id_occurred_at'), 'behaviour_events', ['visitor_id', 'occurred_at'], unique=False)
    op.create_table('customer_segments',
        sa.Column('customer_id', sa.String(length=64), nullable=False),
        sa.Column('recency_days', sa.Integer(), nullable=True),
        sa.Column('frequency', sa.Integer(), nullable=False),
        sa.Column('monetary', sa.Float(), nullable=False),
        sa.Column('r_score', sa.Integer(), nullable=False),
        sa.Column('f_score', sa.Integer(), nullable=False),
        sa.Column('m_score', sa.Integer(), nullable=False),
        sa.Column('segment', sa.String(length=24), nullable=False),
        sa.Column('repurchase_risk', sa.Boolean(), nullable=False),
        sa.Column('expected_gap_days', sa.Float(), nullable=True),
        sa.Column('last_order_on', sa.Date(), nullable=True),
        sa.Column('computed_at', TS, nullable=False),
        sa.CheckConstraint("segment IN ('champion', 'loyal', 'promising', 'new', 'needs_attention', 'at_risk', 'hibernating', 'lost')", name=op.f('ck_customer_segments_segment')),
        sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_customer_segments'))
    )
    op.create_index(op.f('ix_customer_segments_segment'), 'customer_segments', ['segment'], unique=False)
    op.create_table('conversation_outcomes',
        sa.Column('conversation_id', sa.String(length=32), nullable=False),
        sa.Column('customer_id', sa.String(length=64), nullable=True),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('resolved_by_bot', sa.Boolean(), nullable=False),
        sa.Column('handed_off', sa.Boolean(), nullable=False),
        sa.Column('csat', sa.Integer(), nullable=True),
        sa.Column('rated_message_id', sa.String(length=32), nullable=True),
        sa.Column('rated_reply', sa.Text(), nullable=True),
        sa.Column('csat_requested_at', TS, nullable=True),
        sa.Column('rated_at', TS, nullable=True),
        sa.Column('converted_order_id', sa.String(length=64), nullable=True),
        sa.Column('converted_at', TS, nullable=True),
        sa.Column('resolved_at', TS, nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.CheckConstraint('csat IS NULL OR (csat BETWEEN 1 AND 5)', name=op.f('ck_conversation_outcomes_csat')),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_conversation_outcomes_conversation_id'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('conversation_id', name=op.f('pk_conversation_outcomes'))
    )
    op.create_index(op.f('ix_conversation_outcomes_customer_id'), 'conversation_outcomes', ['customer_id'], unique=False)
    op.create_index(op.f('ix_conversation_outcomes_resolved_at'), 'conversation_outcomes', ['resolved_at'], unique=False)
    op.create_table('trigger_sends',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('trigger', sa.String(length=40), nullable=False),
        sa.Column('subject', sa.String(length=100), nullable=False),
        sa.Column('customer_id', sa.String(length=64), nullable=True),
        sa.Column('visitor_id', sa.String(length=64), nullable=True),
        sa.Column('dedupe_key', sa.String(length=200), nullable=False),
        sa.Column('holdout', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=True),
        sa.Column('recipient', sa.String(length=128), nullable=True),
        sa.Column('outbox_id', sa.String(length=32), nullable=True),
        sa.Column('sku', sa.String(length=64), nullable=True),
        sa.Column('payload', JSON, nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('delivered_at', TS, nullable=True),
        sa.Column('shown_at', TS, nullable=True),
        sa.CheckConstraint("status IN ('held_out', 'queued', 'delivered', 'shown', 'suppressed')", name=op.f('ck_trigger_sends_status')),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_trigger_sends_outbox_id'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_trigger_sends')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_trigger_sends_dedupe_key'))
    )
    op.create_index(op.f('ix_trigger_sends_subject_created_at'), 'trigger_sends', ['subject', 'created_at'], unique=False)
    op.create_index(op.f('ix_trigger_sends_trigger_created_at'), 'trigger_sends', ['trigger', 'created_at'], unique=False)
    op.create_index(op.f('ix_trigger_sends_visitor_id_status'), 'trigger_sends', ['visitor_id', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_trigger_sends_visitor_id_status'), table_name='trigger_sends')
    op.drop_index(op.f('ix_trigger_sends_trigger_created_at'), table_name='trigger_sends')
    op.drop_index(op.f('ix_trigger_sends_subject_created_at'), table_name='trigger_sends')
    op.drop_table('trigger_sends')
    op.drop_index(op.f('ix_conversation_outcomes_resolved_at'), table_name='conversation_outcomes')
    op.drop_index(op.f('ix_conversation_outcomes_customer_id'), table_name='conversation_outcomes')
    op.drop_table('conversation_outcomes')
    op.drop_index(op.f('ix_customer_segments_segment'), table_name='customer_segments')
    op.drop_table('customer_segments')
    op.drop_index(op.f('ix_behaviour_events_visitor_id_occurred_at'), table_name='behaviour_events')
    op.drop_index(op.f('ix_behaviour_events_kind_occurred_at'), table_name='behaviour_events')
    op.drop_index(op.f('ix_behaviour_events_customer_id_occurred_at'), table_name='behaviour_events')
    op.drop_table('behaviour_events')
    # ### end Alembic commands ###

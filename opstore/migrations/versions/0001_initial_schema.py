"""Initial schema: conversations, messages and media, channel identities, link codes, handoffs,
outbox, consents, opt-outs and the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the column types (a migration must not import today's models).
TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table('audit_log',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('actor', sa.String(length=80), nullable=False),
        sa.Column('action', sa.String(length=80), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=True),
        sa.Column('details', JSON, nullable=False),
        sa.Column('at', TS, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'], unique=False)
    op.create_index(op.f('ix_audit_log_subject'), 'audit_log', ['subject'], unique=False)
    op.create_table('channel_identities',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('external_id', sa.String(length=128), nullable=False),
        sa.Column('customer_id', sa.String(length=64), nullable=True),
        sa.Column('verified', sa.Boolean(), nullable=False),
        sa.Column('verified_at', TS, nullable=True),
        sa.Column('display_name', sa.String(length=255), nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.CheckConstraint('customer_id IS NULL OR verified', name=op.f('ck_channel_identities_customer_needs_verified')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_identities')),
        sa.UniqueConstraint('channel', 'external_id', name=op.f('uq_channel_identities_channel_external_id'))
    )
    op.create_index(op.f('ix_channel_identities_customer_id'), 'channel_identities', ['customer_id'], unique=False)
    op.create_table('consents',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('customer_id', sa.String(length=64), nullable=True),
        sa.Column('channel', sa.String(length=16), nullable=True),
        sa.Column('external_id', sa.String(length=128), nullable=True),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('granted', sa.Boolean(), nullable=False),
        sa.Column('source', sa.String(length=80), nullable=False),
        sa.Column('at', TS, nullable=False),
        sa.CheckConstraint('customer_id IS NOT NULL OR (channel IS NOT NULL AND external_id IS NOT NULL)', name=op.f('ck_consents_has_subject')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consents'))
    )
    op.create_index(op.f('ix_consents_kind_channel_external_id'), 'consents', ['kind', 'channel', 'external_id'], unique=False)
    op.create_index(op.f('ix_consents_kind_customer_id'), 'consents', ['kind', 'customer_id'], unique=False)
    op.create_table('conversations',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('customer_id', sa.String(length=64), nullable=True),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('channel_user_id', sa.String(length=128), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('assigned_agent', sa.String(length=64), nullable=True),
        sa.Column('handoff_reason', sa.Text(), nullable=True),
        sa.Column('state', JSON, nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.Column('last_inbound_at', TS, nullable=True),
        sa.CheckConstraint("status IN ('bot', 'waiting_human', 'human', 'closed')", name=op.f('ck_conversations_status')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations'))
    )
    op.create_index(op.f('ix_conversations_customer_id'), 'conversations', ['customer_id'], unique=False)
    op.create_index(op.f('ix_conversations_status'), 'conversations', ['status'], unique=False)
    op.create_index('uq_conversations_open', 'conversations', ['channel', 'channel_user_id'], unique=True, sqlite_where=sa.text("status != 'closed'"), postgresql_where=sa.text("status != 'closed'"))
    op.create_table('link_codes',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('customer_id', sa.String(length=64), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('expires_at', TS, nullable=False),
        sa.Column('used_at', TS, nullable=True),
        sa.Column('used_channel', sa.String(length=16), nullable=True),
        sa.Column('used_external_id', sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_link_codes')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_link_codes_code_hash'))
    )
    op.create_table('opt_outs',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('external_id', sa.String(length=128), nullable=False),
        sa.Column('opted_out', sa.Boolean(), nullable=False),
        sa.Column('source', sa.String(length=80), nullable=False),
        sa.Column('at', TS, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_opt_outs')),
        sa.UniqueConstraint('channel', 'external_id', name=op.f('uq_opt_outs_channel_external_id'))
    )
    op.create_table('handoffs',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('conversation_id', sa.String(length=32), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('opened_at', TS, nullable=False),
        sa.Column('claimed_at', TS, nullable=True),
        sa.Column('resolved_at', TS, nullable=True),
        sa.Column('agent', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_handoffs_conversation_id'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_handoffs'))
    )
    op.create_index(op.f('ix_handoffs_conversation_id'), 'handoffs', ['conversation_id'], unique=False)
    op.create_table('messages',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('conversation_id', sa.String(length=32), nullable=False),
        sa.Column('direction', sa.String(length=3), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('provider_message_id', sa.String(length=128), nullable=True),
        sa.Column('author', sa.String(length=80), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('payload', JSON, nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('reply_to', sa.String(length=32), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claim_token', sa.String(length=32), nullable=True),
        sa.Column('claimed_at', TS, nullable=True),
        sa.Column('next_attempt_at', TS, nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.CheckConstraint("(direction = 'in' AND status IN ('received', 'processing', 'answered', 'routed', 'failed')) OR (direction = 'out' AND status IN ('queued', 'sent', 'delivered', 'read', 'failed'))", name=op.f('ck_messages_status')),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f('ck_messages_direction')),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_messages_conversation_id'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
        sa.UniqueConstraint('channel', 'provider_message_id', name=op.f('uq_messages_channel_provider_message_id'))
    )
    op.create_index(op.f('ix_messages_conversation_id_created_at'), 'messages', ['conversation_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_messages_direction_status'), 'messages', ['direction', 'status'], unique=False)
    op.create_table('message_media',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('message_id', sa.String(length=32), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('content_type', sa.String(length=128), nullable=False),
        sa.Column('url', sa.Text(), nullable=True),
        sa.Column('filename', sa.String(length=255), nullable=True),
        sa.Column('data', sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_message_media_message_id'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_message_media'))
    )
    op.create_index(op.f('ix_message_media_message_id'), 'message_media', ['message_id'], unique=False)
    op.create_table('outbox',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('recipient', sa.String(length=128), nullable=False),
        sa.Column('payload', JSON, nullable=False),
        sa.Column('dedupe_key', sa.String(length=200), nullable=False),
        sa.Column('message_id', sa.String(length=32), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', TS, nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('provider_id', sa.String(length=128), nullable=True),
        sa.Column('ignore_opt_out', sa.Boolean(), nullable=False),
        sa.Column('claim_token', sa.String(length=32), nullable=True),
        sa.Column('claimed_by', sa.String(length=64), nullable=True),
        sa.Column('lease_until', TS, nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed', 'dead', 'suppressed')", name=op.f('ck_outbox_status')),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_outbox_message_id'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_dedupe_key'))
    )
    op.create_index(op.f('ix_outbox_message_id'), 'outbox', ['message_id'], unique=False)
    op.create_index(op.f('ix_outbox_provider_id'), 'outbox', ['provider_id'], unique=False)
    op.create_index(op.f('ix_outbox_status_next_attempt_at'), 'outbox', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    for table in ['outbox', 'message_media', 'messages', 'handoffs', 'opt_outs', 'link_codes', 'conversations', 'consents', 'channel_identities', 'audit_log']:
        op.drop_table(table)

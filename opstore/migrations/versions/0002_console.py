"""Support console: agents, agent sessions, notes, canned responses, CSAT, assignment (issue 7).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table('console_agents',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('display_name', sa.String(length=120), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('capacity', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('online', sa.Boolean(), nullable=False),
        sa.Column('failed_logins', sa.Integer(), nullable=False),
        sa.Column('locked_until', TS, nullable=True),
        sa.Column('last_assigned_at', TS, nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.CheckConstraint("role IN ('agent', 'admin')", name=op.f('ck_console_agents_role')),
        sa.CheckConstraint('capacity >= 0', name=op.f('ck_console_agents_capacity')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_agents')),
        sa.UniqueConstraint('username', name=op.f('uq_console_agents_username'))
    )
    op.create_table('console_canned_responses',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_canned_responses')),
        sa.UniqueConstraint('title', name=op.f('uq_console_canned_responses_title'))
    )
    op.create_table('console_notes',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('conversation_id', sa.String(length=32), nullable=False),
        sa.Column('author', sa.String(length=64), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                                name=op.f('fk_console_notes_conversation_id'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_notes'))
    )
    op.create_index(op.f('ix_console_notes_conversation_id'), 'console_notes', ['conversation_id'], unique=False)
    op.create_table('console_sessions',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('agent_id', sa.String(length=32), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('last_seen_at', TS, nullable=False),
        sa.Column('expires_at', TS, nullable=False),
        sa.Column('revoked_at', TS, nullable=True),
        sa.ForeignKeyConstraint(['agent_id'], ['console_agents.id'],
                                name=op.f('fk_console_sessions_agent_id'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sessions'))
    )
    op.create_index(op.f('ix_console_sessions_agent_id'), 'console_sessions', ['agent_id'], unique=False)
    op.create_table('console_csat',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('handoff_id', sa.String(length=32), nullable=False),
        sa.Column('conversation_id', sa.String(length=32), nullable=False),
        sa.Column('agent', sa.String(length=64), nullable=True),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('at', TS, nullable=False),
        sa.CheckConstraint('score BETWEEN 1 AND 5', name=op.f('ck_console_csat_score')),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                                name=op.f('fk_console_csat_conversation_id'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['handoff_id'], ['handoffs.id'],
                                name=op.f('fk_console_csat_handoff_id'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_csat')),
        sa.UniqueConstraint('handoff_id', name=op.f('uq_console_csat_handoff_id'))
    )
    op.create_index(op.f('ix_console_csat_at'), 'console_csat', ['at'], unique=False)
    op.create_table('console_handoff_tickets',
        sa.Column('handoff_id', sa.String(length=32), nullable=False),
        sa.Column('conversation_id', sa.String(length=32), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('priority', sa.String(length=16), nullable=False),
        sa.Column('sla_due_at', TS, nullable=False),
        sa.Column('assigned_by', sa.String(length=16), nullable=True),
        sa.Column('transfers', sa.Integer(), nullable=False),
        sa.Column('first_response_at', TS, nullable=True),
        sa.CheckConstraint("priority IN ('urgent', 'high', 'normal', 'low')",
                           name=op.f('ck_console_handoff_tickets_priority')),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                                name=op.f('fk_console_handoff_tickets_conversation_id'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['handoff_id'], ['handoffs.id'],
                                name=op.f('fk_console_handoff_tickets_handoff_id'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('handoff_id', name=op.f('pk_console_handoff_tickets'))
    )
    op.create_index(op.f('ix_console_handoff_tickets_conversation_id'), 'console_handoff_tickets',
                    ['conversation_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_console_handoff_tickets_conversation_id'), table_name='console_handoff_tickets')
    op.drop_table('console_handoff_tickets')
    op.drop_index(op.f('ix_console_csat_at'), table_name='console_csat')
    op.drop_table('console_csat')
    op.drop_index(op.f('ix_console_sessions_agent_id'), table_name='console_sessions')
    op.drop_table('console_sessions')
    op.drop_index(op.f('ix_console_notes_conversation_id'), table_name='console_notes')
    op.drop_table('console_notes')
    op.drop_table('console_canned_responses')
    op.drop_table('console_agents')

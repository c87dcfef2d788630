"""The accounts tables, kept in the journal's database. Only BIGINT, TEXT and BOOLEAN, so the same
statements run on SQLite and PostgreSQL. Rows are never deleted: a deleted key or a logged-out session
is marked (the store offers inserts and upserts, and the marks are an audit trail). A member's
suspension is a row of its own (set and lifted by upsert), so that databases made before it existed
need no change to the members table; so is the mark of a simulated trader (predictex.sim's)."""

from __future__ import annotations

ACCOUNTS_SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS accounts_members (
        member_id BIGINT PRIMARY KEY,
        email TEXT NOT NULL,
        email_key TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL,
        tier TEXT NOT NULL,
        engine_account_id BIGINT NOT NULL,
        created_ms BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS accounts_api_keys (
        key_id TEXT PRIMARY KEY,
        member_id BIGINT NOT NULL,
        name TEXT NOT NULL,
        key_type TEXT NOT NULL,
        public_key_pem TEXT NOT NULL,
        scopes TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        deleted BOOLEAN NOT NULL,
        deleted_ms BIGINT
    )""",
    "CREATE INDEX IF NOT EXISTS accounts_api_keys_by_member ON accounts_api_keys (member_id)",
    """CREATE TABLE IF NOT EXISTS accounts_sessions (
        token_hash TEXT PRIMARY KEY,
        member_id BIGINT NOT NULL,
        key_id TEXT,
        scopes TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        expires_ms BIGINT NOT NULL,
        revoked BOOLEAN NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS accounts_sessions_by_member ON accounts_sessions (member_id)",
    """CREATE TABLE IF NOT EXISTS accounts_suspensions (
        member_id BIGINT PRIMARY KEY,
        suspended BOOLEAN NOT NULL,
        changed_ms BIGINT NOT NULL,
        reason TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS accounts_closures (
        member_id BIGINT PRIMARY KEY,
        closed_ms BIGINT NOT NULL,
        reason TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS accounts_simulated (
        member_id BIGINT PRIMARY KEY,
        simulated BOOLEAN NOT NULL,
        changed_ms BIGINT NOT NULL
    )""",
)

-- E-mail to experts goes through this outbox: a message is written here first (in the same transaction as the
-- change that causes it, or with a key that makes writing it twice a no-op) and a job sends it. A message that
-- reached 'sent' is never sent again; a failed attempt waits next_attempt_at (growing backoff) and is tried again.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    dedupe_key      TEXT NOT NULL UNIQUE,        -- e.g. invitation:{round}:{member}: the same message is queued once
    kind            TEXT NOT NULL CHECK (kind IN ('invitation', 'reminder', 'thanks')),
    survey_id       INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    round_id        INTEGER REFERENCES rounds (id) ON DELETE CASCADE,
    member_id       INTEGER REFERENCES panel_members (id) ON DELETE CASCADE,
    to_address      TEXT NOT NULL,
    to_name         TEXT NOT NULL,
    language        TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,               -- plain text; {link} is filled in when sent, so no secret is stored here
    link_protected  TEXT,                        -- the link for {link}, encrypted; NULL: the member's personal link
    message_id      TEXT NOT NULL,               -- the same Message-ID on every attempt
    status          TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- The invitation secret, encrypted with the server's data-protection keys, so that e-mails can carry the personal
-- link; sign-in still compares hashes only.
ALTER TABLE panel_members ADD COLUMN link_protected TEXT;

-- Reminders already handled (key: the deadline and how long before it), so that the reconcile job does not work
-- out again, every minute until the deadline, who has finished.
CREATE TABLE round_reminders (
    round_id INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    done_at  TEXT NOT NULL,
    PRIMARY KEY (round_id, key)
);

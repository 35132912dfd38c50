-- Issue 22: two more states of an e-mail, and the address its links are made from.
--   cancelled:   not sent, because the expert's link was revoked before it went out;
--   interrupted: the sender stopped while handing it to the SMTP server, so it may have been delivered. It is not
--                sent again by itself: a message the SMTP server may have taken is never sent a second time.
-- SQLite cannot change a CHECK constraint, so the table is made again (nothing refers to it).
CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY,
    dedupe_key      TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('invitation', 'reminder', 'thanks')),
    survey_id       INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    round_id        INTEGER REFERENCES rounds (id) ON DELETE CASCADE,
    member_id       INTEGER REFERENCES panel_members (id) ON DELETE CASCADE,
    to_address      TEXT NOT NULL,
    to_name         TEXT NOT NULL,
    language        TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    link_protected  TEXT,
    link_base       TEXT,                        -- the personal link's base when Foresight:PublicUrl is not set
    message_id      TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'cancelled', 'interrupted')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,               -- 'sending': when it was claimed
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
INSERT INTO outbox_new (id, dedupe_key, kind, survey_id, round_id, member_id, to_address, to_name, language, subject, body,
                        link_protected, message_id, status, attempts, next_attempt_at, last_error, created_at, sent_at)
    SELECT id, dedupe_key, kind, survey_id, round_id, member_id, to_address, to_name, language, subject, body,
           link_protected, message_id, status, attempts, next_attempt_at, last_error, created_at, sent_at
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- The address of the coordinator's request that opened the round (scheme and host, as a reverse proxy forwards
-- them): the base of the links in the round's e-mails when Foresight:PublicUrl is not set. Jobs have no request.
ALTER TABLE rounds ADD COLUMN link_base TEXT;


-- Foresight schema, version 1. Portable SQL (SQLite and PostgreSQL): INTEGER keys, TEXT timestamps
-- in ISO 8601 UTC, booleans as 0/1, no engine-specific functions.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'stakeholder')),
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    disabled_at   TEXT
);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE surveys (
    id         INTEGER PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    title_zh   TEXT,
    title_en   TEXT,
    definition TEXT NOT NULL,              -- the survey file as imported (YAML)
    file_name  TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'running', 'finished')),
    created_by INTEGER REFERENCES users (id),
    created_at TEXT NOT NULL
);

CREATE TABLE survey_coordinators (
    survey_id INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (survey_id, user_id)
);

-- Consensus and stop rules, versioned: a round is judged by the version it was opened with.
CREATE TABLE consensus_rules (
    survey_id  INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    rules      TEXT NOT NULL,              -- JSON of the parsed rules
    source     TEXT NOT NULL,              -- the rules as declared (YAML)
    created_at TEXT NOT NULL,
    created_by INTEGER REFERENCES users (id),
    PRIMARY KEY (survey_id, version)
);

CREATE TABLE fields (
    id             INTEGER PRIMARY KEY,
    survey_id      INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    code           TEXT NOT NULL,
    name_zh        TEXT,
    name_en        TEXT,
    description_zh TEXT,
    description_en TEXT,
    position       INTEGER NOT NULL,
    UNIQUE (survey_id, code)
);

CREATE TABLE topics (
    id            INTEGER PRIMARY KEY,
    survey_id     INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    field_id      INTEGER NOT NULL REFERENCES fields (id),
    code          TEXT NOT NULL,
    title_zh      TEXT,
    title_en      TEXT,
    background_zh TEXT,
    background_en TEXT,
    tags          TEXT NOT NULL DEFAULT '',  -- comma-separated
    origin        TEXT NOT NULL,             -- coordinator | expert | machine
    status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired', 'merged', 'split', 'removed')),
    position      INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    UNIQUE (survey_id, code)
);
CREATE INDEX topics_field ON topics (field_id);

-- Merges and splits between rounds: feedback of a new topic comes from its parents.
CREATE TABLE topic_lineage (
    topic_id    INTEGER NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    parent_id   INTEGER NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('merge', 'split')),
    after_round INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  INTEGER REFERENCES users (id),
    PRIMARY KEY (topic_id, parent_id)
);

-- Rewording keeps the topic (and its answers) and records what it said before.
CREATE TABLE topic_revisions (
    id            INTEGER PRIMARY KEY,
    topic_id      INTEGER NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    after_round   INTEGER NOT NULL,
    title_zh      TEXT,
    title_en      TEXT,
    background_zh TEXT,
    background_en TEXT,
    reason        TEXT,
    created_at    TEXT NOT NULL,
    created_by    INTEGER REFERENCES users (id)
);

-- The expert pool, shared by all surveys.
CREATE TABLE experts (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    email        TEXT NOT NULL UNIQUE,
    organisation TEXT,
    org_type     TEXT,
    region       TEXT,
    work         TEXT,
    expertise    TEXT NOT NULL DEFAULT '',  -- field codes or keywords, ';'-separated
    language     TEXT NOT NULL DEFAULT 'zh-CN',
    created_at   TEXT NOT NULL
);

-- A survey's panel: each member has a pseudonym and an invitation secret (stored hashed).
CREATE TABLE panel_members (
    id               INTEGER PRIMARY KEY,
    survey_id        INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    expert_id        INTEGER NOT NULL REFERENCES experts (id),
    pseudonym        TEXT NOT NULL,
    secret_hash      TEXT NOT NULL UNIQUE,
    secret_issued_at TEXT NOT NULL,
    revoked_at       TEXT,
    language         TEXT,
    joined_at        TEXT NOT NULL,
    UNIQUE (survey_id, expert_id),
    UNIQUE (survey_id, pseudonym)
);

CREATE TABLE panel_fields (
    member_id INTEGER NOT NULL REFERENCES panel_members (id) ON DELETE CASCADE,
    field_id  INTEGER NOT NULL REFERENCES fields (id) ON DELETE CASCADE,
    PRIMARY KEY (member_id, field_id)
);

CREATE TABLE profile_answers (
    member_id INTEGER NOT NULL REFERENCES panel_members (id) ON DELETE CASCADE,
    question  TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (member_id, question)
);

CREATE TABLE rounds (
    id            INTEGER PRIMARY KEY,
    survey_id     INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    number        INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    rules_version INTEGER NOT NULL,
    opened_at     TEXT NOT NULL,
    opened_by     INTEGER REFERENCES users (id),
    deadline      TEXT,
    closed_at     TEXT,
    closed_by     INTEGER REFERENCES users (id),
    data_hash     TEXT,
    invited       INTEGER,
    responded     INTEGER,
    finished      INTEGER,
    settled_pct   REAL,
    stop_reason   TEXT,
    stop          INTEGER,
    rankings      TEXT,                    -- Kendall's W and mean ranks of the ranking questions (JSON)
    UNIQUE (survey_id, number)
);

-- The topics of a round and, once it is closed, what became of each.
CREATE TABLE round_topics (
    round_id      INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    topic_id      INTEGER NOT NULL REFERENCES topics (id),
    position      INTEGER NOT NULL,
    state         TEXT,     -- consensus | no_consensus | dissensus
    stable        INTEGER,  -- 1, 0, or NULL in round 1
    proposed      TEXT,     -- carry | retire, by the stop rule
    decision      TEXT,     -- carry | retire, after the coordinator's override
    decided_by    INTEGER REFERENCES users (id),
    decision_note TEXT,
    PRIMARY KEY (round_id, topic_id)
);

-- The experts invited to a round (for response and drop-out rates).
CREATE TABLE round_members (
    round_id  INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES panel_members (id) ON DELETE CASCADE,
    PRIMARY KEY (round_id, member_id)
);

-- Current answers: the last one counts. question is a question id, or a ranking id (number = rank).
CREATE TABLE answers (
    round_id   INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    member_id  INTEGER NOT NULL REFERENCES panel_members (id) ON DELETE CASCADE,
    topic_id   INTEGER NOT NULL REFERENCES topics (id),
    question   TEXT NOT NULL,
    value      TEXT NOT NULL,
    number     REAL,
    rationale  TEXT,
    revision   INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (round_id, member_id, topic_id, question)
);
CREATE INDEX answers_topic ON answers (round_id, topic_id);

-- Every change, appended; value NULL records a cleared answer.
CREATE TABLE answer_history (
    id          INTEGER PRIMARY KEY,
    round_id    INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    member_id   INTEGER NOT NULL REFERENCES panel_members (id) ON DELETE CASCADE,
    topic_id    INTEGER NOT NULL REFERENCES topics (id),
    question    TEXT NOT NULL,
    value       TEXT,
    number      REAL,
    rationale   TEXT,
    recorded_at TEXT NOT NULL
);
CREATE INDEX answer_history_member ON answer_history (member_id, topic_id);

-- Idempotency keys of answer submissions: a repeated request returns the first response.
CREATE TABLE submissions (
    member_id       INTEGER NOT NULL REFERENCES panel_members (id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    body_hash       TEXT NOT NULL,
    response        TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (member_id, idempotency_key)
);

-- Consensus of a closed round, per topic: the statistics of every question and the topic's state (JSON).
CREATE TABLE consensus (
    round_id INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    topic_id INTEGER NOT NULL REFERENCES topics (id),
    result   TEXT NOT NULL,
    PRIMARY KEY (round_id, topic_id)
);

-- Topic messages (专家留言): experts write under their pseudonym; coordinators can hide a message.
CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,
    survey_id     INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    topic_id      INTEGER NOT NULL REFERENCES topics (id),
    member_id     INTEGER REFERENCES panel_members (id) ON DELETE CASCADE,
    user_id       INTEGER REFERENCES users (id),
    reply_to      INTEGER REFERENCES messages (id),
    round_number  INTEGER,
    body          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    hidden_at     TEXT,
    hidden_by     INTEGER REFERENCES users (id),
    hidden_reason TEXT
);
CREATE INDEX messages_topic ON messages (topic_id);

-- Key technologies selected after the last round (关键技术选择), with the criteria used.
CREATE TABLE key_technology_selections (
    id           INTEGER PRIMARY KEY,
    survey_id    INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    round_number INTEGER NOT NULL,
    criteria     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   INTEGER REFERENCES users (id)
);

CREATE TABLE key_technologies (
    selection_id           INTEGER NOT NULL REFERENCES key_technology_selections (id) ON DELETE CASCADE,
    topic_id               INTEGER NOT NULL REFERENCES topics (id),
    rank                   INTEGER NOT NULL,
    importance_index       REAL,
    importance_index_famw  REAL,
    note                   TEXT,
    PRIMARY KEY (selection_id, topic_id)
);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    user_id   INTEGER REFERENCES users (id),
    survey_id INTEGER REFERENCES surveys (id) ON DELETE CASCADE,
    action    TEXT NOT NULL,
    detail    TEXT
);

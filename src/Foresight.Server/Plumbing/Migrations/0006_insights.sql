-- Machine-proposed topics and evidence (issue 10): literature records, analyses, proposals and the coordinators'
-- decisions on them, evidence kept with the topics they became, argument clusters chosen for feedback.

-- One imported file: what it held and what happened to each row.
CREATE TABLE literature_imports (
    id          INTEGER PRIMARY KEY,
    survey_id   INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    file_name   TEXT NOT NULL,
    format      TEXT NOT NULL,
    added       INTEGER NOT NULL,
    duplicates  INTEGER NOT NULL,          -- rows that repeated a record of this file or one stored before
    errors      TEXT NOT NULL,             -- JSON [{"line": n, "message": "..."}], rows skipped
    created_at  TEXT NOT NULL,
    created_by  INTEGER REFERENCES users (id)
);

-- A paper, patent, project or news item, once per survey (dedup_key: DOI, else normalised title + year).
CREATE TABLE literature_records (
    id          INTEGER PRIMARY KEY,
    survey_id   INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    import_id   INTEGER NOT NULL REFERENCES literature_imports (id) ON DELETE CASCADE,
    dedup_key   TEXT NOT NULL,
    source_type TEXT NOT NULL CHECK (source_type IN ('paper', 'patent', 'project', 'news')),
    title       TEXT NOT NULL,
    abstract    TEXT NOT NULL DEFAULT '',
    keywords    TEXT NOT NULL DEFAULT '',  -- '; '-separated
    year        INTEGER,
    countries   TEXT NOT NULL DEFAULT '',  -- ';'-separated
    language    TEXT,
    doi         TEXT,
    source      TEXT,
    authors     TEXT,
    external_id TEXT,                      -- the export's own id (Scopus EID, WoS UT, patent number, ...)
    UNIQUE (survey_id, dedup_key)
);

-- Full-text search over the records. The text indexed is the analysis tokenizer's terms (Chinese character bigrams,
-- English Porter stems), so a search finds what the clustering sees, in both languages; rowid = literature_records.id.
CREATE VIRTUAL TABLE literature_search USING fts5 (terms, tokenize = 'unicode61 remove_diacritics 0');

-- One clustering run: which records (the filter), the parameters as run (seed and k included), and its outcome.
CREATE TABLE insight_analyses (
    id          INTEGER PRIMARY KEY,
    survey_id   INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'done', 'failed')),
    filter      TEXT NOT NULL,             -- JSON: query, years, source types
    parameters  TEXT NOT NULL,             -- JSON ClusteringParameters as requested; replaced by the effective ones when done
    records     INTEGER,
    k           INTEGER,
    silhouette  REAL,
    scores      TEXT,                      -- JSON [{"k": .., "silhouette": ..}]
    error       TEXT,
    duration_ms INTEGER,
    created_at  TEXT NOT NULL,
    created_by  INTEGER REFERENCES users (id),
    finished_at TEXT
);

-- A machine-proposed topic (an "instant judgment") with its evidence; used only once a coordinator decides on it.
CREATE TABLE insight_proposals (
    id               INTEGER PRIMARY KEY,
    analysis_id      INTEGER NOT NULL REFERENCES insight_analyses (id) ON DELETE CASCADE,
    survey_id        INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    cluster          INTEGER NOT NULL,
    label_terms      TEXT NOT NULL,        -- JSON [{"term", "display", "weight"}]
    size             INTEGER NOT NULL,
    records_per_year TEXT NOT NULL,        -- JSON [{"year", "count"}]
    growth_rate      REAL,
    countries        TEXT NOT NULL,        -- JSON [{"country", "records", "share"}]
    nearest_field    TEXT,
    field_similarity REAL,
    outside_fields   INTEGER NOT NULL,
    weak_signal      INTEGER NOT NULL,
    status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'edited', 'merged', 'split', 'rejected')),
    decision_id      INTEGER,
    UNIQUE (analysis_id, cluster)
);
CREATE INDEX insight_proposals_survey ON insight_proposals (survey_id, status);

-- The records of each proposal; representative is 1..3 for the records shown first (most central), else null.
CREATE TABLE insight_proposal_records (
    proposal_id    INTEGER NOT NULL REFERENCES insight_proposals (id) ON DELETE CASCADE,
    record_id      INTEGER NOT NULL REFERENCES literature_records (id) ON DELETE CASCADE,
    representative INTEGER,
    PRIMARY KEY (proposal_id, record_id)
);

-- Every decision on proposals, with who and when: the log the evaluation counts.
CREATE TABLE insight_decisions (
    id          INTEGER PRIMARY KEY,
    survey_id   INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    decision    TEXT NOT NULL CHECK (decision IN ('accepted', 'edited', 'merged', 'split', 'rejected')),
    proposals   TEXT NOT NULL,             -- JSON [proposal id]
    topics      TEXT NOT NULL,             -- JSON [topic code] made by the decision
    note        TEXT,
    created_at  TEXT NOT NULL,
    created_by  INTEGER REFERENCES users (id)
);

-- The proposals a topic came from: its evidence, shown to experts as machine-generated background.
CREATE TABLE topic_evidence (
    topic_id    INTEGER NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    proposal_id INTEGER NOT NULL REFERENCES insight_proposals (id) ON DELETE CASCADE,
    PRIMARY KEY (topic_id, proposal_id)
);

-- Argument clusters of a closed round's rationales that the coordinator chose for the next round's feedback
-- (a copy of what was chosen: labels, anonymous quotes and size, so the feedback does not move afterwards).
CREATE TABLE argument_feedback (
    round_id   INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    topic_id   INTEGER NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    arguments  TEXT NOT NULL,              -- JSON [{"labels": [...], "quotes": [...], "size": n}]
    chosen_at  TEXT NOT NULL,
    chosen_by  INTEGER REFERENCES users (id),
    PRIMARY KEY (round_id, topic_id)
);

-- Rendered reports, one row per survey, kind, round, language and data version. A PDF is served only when its row
-- is ready: the file is written under a temporary name and renamed into place before the row says so.
CREATE TABLE reports (
    id                 INTEGER PRIMARY KEY,
    survey_id          INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    kind               TEXT NOT NULL CHECK (kind IN ('round', 'study')),
    round_number       INTEGER NOT NULL,
    language           TEXT NOT NULL,
    data_version       TEXT NOT NULL,   -- a hash of everything the report shows
    status             TEXT NOT NULL CHECK (status IN ('queued', 'rendering', 'ready', 'failed')),
    pdf_path           TEXT,
    html_path          TEXT,
    pdf_bytes          INTEGER,
    data_hash          TEXT,            -- the reported round's data hash, as stated in the report
    attempts           INTEGER NOT NULL DEFAULT 0,
    error              TEXT,
    requested_at       TEXT NOT NULL,
    requested_by       INTEGER REFERENCES users (id),
    rendered_at        TEXT,
    render_ms          INTEGER,
    UNIQUE (survey_id, kind, round_number, language, data_version)
);

-- A published report: stakeholders granted the survey may read it, and so may anyone with its link (stored hashed).
-- It always shows the report's current version.
CREATE TABLE report_publications (
    survey_id    INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('round', 'study')),
    round_number INTEGER NOT NULL,
    language     TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    published_at TEXT NOT NULL,
    published_by INTEGER REFERENCES users (id),
    PRIMARY KEY (survey_id, kind, round_number, language)
);

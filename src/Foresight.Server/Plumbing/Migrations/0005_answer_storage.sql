-- Answer storage for national-scale rounds (issue 9: thousands of saves a second through one writer).

-- Answers are stored in their primary key's order (WITHOUT ROWID): one B-tree instead of a rowid table plus the
-- key's index, so every answer written costs one tree fewer.
CREATE TABLE answers_clustered (
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
) WITHOUT ROWID;
INSERT INTO answers_clustered (round_id, member_id, topic_id, question, value, number, rationale, revision, updated_at)
    SELECT round_id, member_id, topic_id, question, value, number, rationale, revision, updated_at FROM answers;
DROP TABLE answers;
ALTER TABLE answers_clustered RENAME TO answers;
CREATE INDEX answers_topic ON answers (round_id, topic_id);

-- The history holds one row per save of a topic (not one per question): what changed, as a JSON object
-- {"question": {"value": "...", "number": n, "rationale": "..."}}, where a null value records a cleared answer.
CREATE TABLE answer_saves (
    id          INTEGER PRIMARY KEY,
    round_id    INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    member_id   INTEGER NOT NULL REFERENCES panel_members (id) ON DELETE CASCADE,
    topic_id    INTEGER NOT NULL REFERENCES topics (id),
    changes     TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
-- The old rows of one save share their timestamp, but so do two saves of one topic in one commit: the n-th change
-- of a question at that time goes to the n-th save, so no save names a question twice and later values stay later.
INSERT INTO answer_saves (id, round_id, member_id, topic_id, changes, recorded_at)
    SELECT min(id), round_id, member_id, topic_id,
           json_group_object(question, json_object('value', value, 'number', number, 'rationale', rationale)), recorded_at
    FROM (SELECT *, row_number() OVER (PARTITION BY round_id, member_id, topic_id, recorded_at, question ORDER BY id) AS nth
          FROM answer_history)
    GROUP BY round_id, member_id, topic_id, recorded_at, nth ORDER BY min(id);
DROP TABLE answer_history;
ALTER TABLE answer_saves RENAME TO answer_history;
CREATE INDEX answer_history_member ON answer_history (member_id, topic_id);

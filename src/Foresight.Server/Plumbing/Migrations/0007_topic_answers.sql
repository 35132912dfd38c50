-- One row per topic answer (issue 9): a save of a national topic upserted 12 answer rows, 24 B-tree insertions
-- (the table and its topic index), two thirds of the answer writer's time. Now one row holds all of an expert's
-- answers to a topic, so a save is one upsert.

-- answers: a JSON object keyed by question id (ranking ids share it, as ranking rows shared the old table),
-- {"question": {"value": "...", "number": n, "rationale": "...", "revision": n, "updated_at": "..."}}, number and
-- rationale left out when null, keys in ordinal order. A rowid table: rows of about 500 bytes would crowd the
-- interior pages of a WITHOUT ROWID tree, which hold whole rows.
CREATE TABLE topic_answers (
    round_id   INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    member_id  INTEGER NOT NULL REFERENCES panel_members (id) ON DELETE CASCADE,
    topic_id   INTEGER NOT NULL REFERENCES topics (id),
    answers    TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- json_patch onto {} drops the null members.
INSERT INTO topic_answers (round_id, member_id, topic_id, answers, updated_at)
    SELECT round_id, member_id, topic_id,
           json_group_object(question, json_patch('{}', json_object('value', value, 'number', number, 'rationale', rationale,
               'revision', revision, 'updated_at', updated_at)) ORDER BY question),
           max(updated_at)
    FROM answers GROUP BY round_id, member_id, topic_id;
DROP TABLE answers;
CREATE UNIQUE INDEX topic_answers_key ON topic_answers (round_id, member_id, topic_id);
CREATE INDEX topic_answers_topic ON topic_answers (round_id, topic_id);

-- The answers as they were, one row per question, for queries by hand, exports of the file and tests (SQLite
-- flattens the view: a search by round and member or topic uses the indexes above). The server reads topic_answers:
-- its JSON parses several times faster in C# than in SQLite, and a view's computed columns have no declared type,
-- which Dapper needs when a column's first value is null.
CREATE VIEW answers (round_id, member_id, topic_id, question, value, number, rationale, revision, updated_at) AS
    SELECT a.round_id, a.member_id, a.topic_id, j.key, j.value ->> 'value', CAST(j.value ->> 'number' AS REAL), j.value ->> 'rationale',
           j.value ->> 'revision', j.value ->> 'updated_at'
    FROM topic_answers a, json_each(a.answers) j;

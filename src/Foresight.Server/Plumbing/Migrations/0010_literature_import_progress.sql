-- Literature imports written in batches (issue 23): a large import commits many short transactions instead of one
-- long one, so it has a state. Its records are seen (search, analyses, counts) only once it is done; an import that
-- failed, or that a stopped server left behind, is marked failed and its records are removed.
ALTER TABLE literature_imports ADD COLUMN status TEXT NOT NULL DEFAULT 'done' CHECK (status IN ('importing', 'done', 'failed'));
ALTER TABLE literature_imports ADD COLUMN total INTEGER NOT NULL DEFAULT 0;  -- records read from the file (rows without errors)
ALTER TABLE literature_imports ADD COLUMN done INTEGER NOT NULL DEFAULT 0;   -- of those, handled so far (added or found a duplicate)
ALTER TABLE literature_imports ADD COLUMN error TEXT;                        -- why it failed
ALTER TABLE literature_imports ADD COLUMN finished_at TEXT;
UPDATE literature_imports SET total = added + duplicates, done = added + duplicates, finished_at = created_at;
CREATE INDEX literature_imports_survey ON literature_imports (survey_id, status);
-- A failed import's records are found by their import (also what ON DELETE CASCADE from literature_imports looks up).
CREATE INDEX literature_records_import ON literature_records (import_id);

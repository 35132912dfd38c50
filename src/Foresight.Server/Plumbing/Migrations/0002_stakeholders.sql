-- Stakeholder accounts granted a survey: they read what the survey publishes (live view, reports).
CREATE TABLE survey_stakeholders (
    survey_id  INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    granted_at TEXT NOT NULL,
    granted_by INTEGER REFERENCES users (id),
    PRIMARY KEY (survey_id, user_id)
);

-- Per-survey authority over the shared expert pool (issue 22): a coordinator sees the experts they added and those on
-- the panels of the surveys they coordinate, and changes contact details only of experts who sit on no other survey.
-- Experts added before this migration have no owner: they are seen through their panels (and by admins).
ALTER TABLE experts ADD COLUMN created_by INTEGER REFERENCES users (id);
CREATE INDEX panel_members_expert ON panel_members (expert_id);

-- Schema version 3: what the front ends keep per conference, and input
-- history.

ALTER TABLE conferences ADD COLUMN hidden    INTEGER NOT NULL DEFAULT 0; -- closed in the UI, still a member
ALTER TABLE conferences ADD COLUMN last_read INTEGER NOT NULL DEFAULT 0; -- a messages.seq, 0 for none
ALTER TABLE conferences ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0; -- own messages <= this are held by another member

-- Lines typed into the input, per conference (conference = x'' for the
-- global history), oldest first by seq.
CREATE TABLE input_history (
    seq        INTEGER PRIMARY KEY,
    conference BLOB    NOT NULL CHECK (length(conference) IN (0, 33)),
    line       TEXT    NOT NULL
);
CREATE INDEX input_history_by_conference ON input_history (conference, seq);

CREATE TRIGGER input_history_cascade AFTER DELETE ON conferences BEGIN
    DELETE FROM input_history WHERE conference = old.id;
END;

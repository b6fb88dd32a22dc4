-- Schema version 2: what the conference engine needs to restore itself.

ALTER TABLE conferences ADD COLUMN self_number   INTEGER NOT NULL DEFAULT 0 CHECK (self_number BETWEEN 0 AND 65535);
ALTER TABLE conferences ADD COLUMN connected     INTEGER NOT NULL DEFAULT 0; -- 0 while joining
ALTER TABLE conferences ADD COLUMN max_frozen    INTEGER NOT NULL DEFAULT 0; -- 0: the engine's default
ALTER TABLE conferences ADD COLUMN invite_cookie BLOB;                       -- set while invited

ALTER TABLE conference_peers ADD COLUMN highest_seen INTEGER NOT NULL DEFAULT 0;

ALTER TABLE messages ADD COLUMN forked INTEGER NOT NULL DEFAULT 0;

-- The lowest message number this member keeps per origin; fixed floors
-- (set when joining) are never lowered by peers' summaries.
CREATE TABLE floors (
    conference BLOB    NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    origin     BLOB    NOT NULL CHECK (length(origin) = 32),
    floor      INTEGER NOT NULL CHECK (floor BETWEEN 0 AND 4294967295),
    fixed      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conference, origin)
) WITHOUT ROWID;

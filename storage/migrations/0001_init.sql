-- Schema version 1. Times are Unix milliseconds; keys are raw bytes;
-- address lists are JSON arrays of "host:port" strings.

CREATE TABLE identity (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    seed       BLOB    NOT NULL CHECK (length(seed) = 32),
    nospam     INTEGER NOT NULL CHECK (nospam BETWEEN 0 AND 4294967295),
    created_at INTEGER NOT NULL
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE friends (
    public_key BLOB    PRIMARY KEY CHECK (length(public_key) = 32),
    name       TEXT    NOT NULL DEFAULT '',
    addresses  TEXT    NOT NULL DEFAULT '[]',
    nospam     INTEGER NOT NULL DEFAULT 0, -- the nospam of the ID we were given
    confirmed  INTEGER NOT NULL DEFAULT 0, -- 0 while our request is unanswered
    added_at   INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE friend_requests (
    public_key  BLOB    PRIMARY KEY CHECK (length(public_key) = 32),
    message     TEXT    NOT NULL DEFAULT '',
    addresses   TEXT    NOT NULL DEFAULT '[]',
    received_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE conferences (
    id           BLOB    PRIMARY KEY CHECK (length(id) = 33),
    title        TEXT    NOT NULL DEFAULT '',
    title_stamp  INTEGER NOT NULL DEFAULT 0,
    title_by     BLOB,
    state        INTEGER NOT NULL DEFAULT 0, -- see ConferenceState
    next_number  INTEGER NOT NULL DEFAULT 1 CHECK (next_number BETWEEN 0 AND 4294967295),
    invited_by   BLOB,
    created_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE conference_peers (
    conference  BLOB    NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    public_key  BLOB    NOT NULL CHECK (length(public_key) = 32),
    peer_number INTEGER NOT NULL CHECK (peer_number BETWEEN 0 AND 65535),
    name        TEXT    NOT NULL DEFAULT '',
    addresses   TEXT    NOT NULL DEFAULT '[]',
    frozen      INTEGER NOT NULL DEFAULT 1,
    last_active INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conference, public_key)
) WITHOUT ROWID;

CREATE TABLE messages (
    seq         INTEGER PRIMARY KEY, -- local arrival order
    conference  BLOB    NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    origin      BLOB    NOT NULL CHECK (length(origin) = 32),
    number      INTEGER NOT NULL CHECK (number BETWEEN 0 AND 4294967295),
    prev        INTEGER NOT NULL DEFAULT 0,
    kind        INTEGER NOT NULL CHECK (kind BETWEEN 0 AND 255),
    body        BLOB    NOT NULL,
    signature   BLOB    NOT NULL,
    sent_at     INTEGER NOT NULL DEFAULT 0, -- the origin's claim, display only
    received_at INTEGER NOT NULL,
    UNIQUE (conference, origin, number)
);
CREATE INDEX messages_by_conference ON messages (conference, seq);

CREATE TABLE routes (
    public_key   BLOB    PRIMARY KEY CHECK (length(public_key) = 32),
    route        TEXT    NOT NULL DEFAULT '',  -- '', 'direct' or 'relay'
    switch_state TEXT    NOT NULL DEFAULT '',  -- '' when no switch runs
    address      TEXT    NOT NULL DEFAULT '',
    updated_at   INTEGER NOT NULL
) WITHOUT ROWID;

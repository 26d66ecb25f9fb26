-- Documents. rev is the latest revision; size is the length of the text at
-- rev in UTF-16 code units (the len_after of the latest log row, or 0).
-- Times are unix nanoseconds, UTC.
CREATE TABLE documents (
	id      TEXT PRIMARY KEY,
	title   TEXT NOT NULL,
	created INTEGER NOT NULL,
	updated INTEGER NOT NULL,
	rev     INTEGER NOT NULL DEFAULT 0 CHECK (rev >= 0),
	size    INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0)
) STRICT;

CREATE INDEX documents_updated ON documents (updated DESC);

-- The log: op turned revision rev-1 into rev. op is the ot.js JSON form.
-- len_after is the text length after op, so the size at any revision is
-- known without replaying the log.
CREATE TABLE ops (
	doc       TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
	rev       INTEGER NOT NULL CHECK (rev >= 1),
	op        TEXT NOT NULL,
	client    TEXT NOT NULL,
	seq       INTEGER NOT NULL,
	time      INTEGER NOT NULL,
	len_after INTEGER NOT NULL CHECK (len_after >= 0),
	PRIMARY KEY (doc, rev),
	UNIQUE (doc, client, seq)
) STRICT;

-- Snapshots: the whole text at a revision; replay starts from the latest
-- one at or before the revision asked for.
CREATE TABLE snapshots (
	doc  TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
	rev  INTEGER NOT NULL CHECK (rev >= 0),
	text TEXT NOT NULL,
	PRIMARY KEY (doc, rev)
) STRICT;

-- Authorship: the stable id of the person who made each op ('' when not
-- known: ops from before authors were recorded), and each author's latest
-- name and colour in a document.
ALTER TABLE ops ADD COLUMN author TEXT NOT NULL DEFAULT '';

CREATE TABLE authors (
	doc     TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
	id      TEXT NOT NULL,
	name    TEXT NOT NULL,
	color   TEXT NOT NULL,
	updated INTEGER NOT NULL,
	PRIMARY KEY (doc, id)
) STRICT;

-- Named versions: a revision given a name ("sent to the client").
CREATE TABLE versions (
	doc    TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
	rev    INTEGER NOT NULL CHECK (rev >= 0),
	name   TEXT NOT NULL,
	author TEXT NOT NULL,
	time   INTEGER NOT NULL,
	PRIMARY KEY (doc, rev)
) STRICT;

-- The trash: a deleted document keeps its row, log and snapshots until
-- purge (unix nanoseconds); deleted is when it went to the trash.
ALTER TABLE documents ADD COLUMN deleted INTEGER;
ALTER TABLE documents ADD COLUMN purge INTEGER;
CREATE INDEX documents_purge ON documents (purge) WHERE purge IS NOT NULL;

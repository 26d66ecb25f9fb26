-- The highest seq of every client in every document, kept as ops are
-- appended, so that opening a document reads one row per client instead of
-- scanning its whole log.
CREATE TABLE client_seqs (
	doc    TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
	client TEXT NOT NULL,
	seq    INTEGER NOT NULL,
	PRIMARY KEY (doc, client)
) STRICT;

INSERT INTO client_seqs (doc, client, seq) SELECT doc, client, max(seq) FROM ops GROUP BY doc, client;

-- The whole schema of the SQLite store as of its migration 0006, in one
-- step: a PostgreSQL database has no older rows to carry forward.
--
-- Times are unix nanoseconds (bigint), as in SQLite, not timestamptz: a
-- timestamptz keeps microseconds, and the store's contract is that an
-- entry's time reads back exactly as it was written.
-- Ids are text, not uuid: a lookup of a malformed id must be "not found",
-- not a type error, and imported or older ids need not be UUIDs. The ids
-- that lists are ordered by are COLLATE "C": byte order, as in SQLite,
-- whatever the database's locale.

-- Documents. rev is the latest revision; size is the length of the text at
-- rev in UTF-16 code units. deleted and purge are set while the document is
-- in the trash.
CREATE TABLE documents (
	id         text COLLATE "C" PRIMARY KEY,
	title      text NOT NULL,
	created    bigint NOT NULL,
	updated    bigint NOT NULL,
	rev        bigint NOT NULL DEFAULT 0 CHECK (rev >= 0),
	size       bigint NOT NULL DEFAULT 0 CHECK (size >= 0),
	edit_token text NOT NULL UNIQUE,
	view_token text NOT NULL UNIQUE,
	deleted    bigint,
	purge      bigint
);

-- ListDocs: the live documents, most recently updated first.
CREATE INDEX documents_updated ON documents (updated DESC, id) WHERE deleted IS NULL;
-- Trash and PurgeExpired.
CREATE INDEX documents_purge ON documents (purge, id) WHERE purge IS NOT NULL;

-- The log: op turned revision rev-1 into rev, in the ot.js JSON form, kept
-- as text so that it reads back byte for byte (jsonb would rewrite it, and
-- pages are bounded in those bytes). The primary key makes a second writer
-- of a revision fail; the unique (doc, client, seq) refuses a client's op
-- applied twice.
CREATE TABLE ops (
	doc            text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
	rev            bigint NOT NULL CHECK (rev >= 1),
	op             text NOT NULL,
	client         text NOT NULL,
	seq            bigint NOT NULL,
	time           bigint NOT NULL,
	len_after      bigint NOT NULL CHECK (len_after >= 0),
	author         text NOT NULL DEFAULT '',
	-- JSON [[len, author], …] when the inserted text is not all the
	-- author's (a restore); NULL otherwise.
	insert_authors text,
	PRIMARY KEY (doc, rev),
	UNIQUE (doc, client, seq)
);

-- Snapshots: the whole text at a revision. bytea, not text: PostgreSQL's
-- text cannot hold U+0000, which a document may contain.
CREATE TABLE snapshots (
	doc  text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
	rev  bigint NOT NULL CHECK (rev >= 0),
	text bytea NOT NULL,
	PRIMARY KEY (doc, rev)
);

-- The highest seq of every client in every document, kept by Append.
CREATE TABLE client_seqs (
	doc    text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
	client text NOT NULL,
	seq    bigint NOT NULL,
	PRIMARY KEY (doc, client)
);

-- Each author's latest name and colour in a document.
CREATE TABLE authors (
	doc     text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
	id      text COLLATE "C" NOT NULL,
	name    text NOT NULL,
	color   text NOT NULL,
	updated bigint NOT NULL,
	PRIMARY KEY (doc, id)
);

-- Named versions.
CREATE TABLE versions (
	doc    text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
	rev    bigint NOT NULL CHECK (rev >= 0),
	name   text NOT NULL,
	author text NOT NULL,
	time   bigint NOT NULL,
	PRIMARY KEY (doc, rev)
);

-- Server secrets, shared by every process on the database.
CREATE TABLE secrets (
	name  text PRIMARY KEY,
	value bytea NOT NULL
);

-- The health probe: Health commits an update of this one row.
CREATE TABLE health (
	id      int PRIMARY KEY CHECK (id = 1),
	probes  bigint NOT NULL,
	checked bigint NOT NULL
);

INSERT INTO health (id, probes, checked) VALUES (1, 0, 0);

-- The health probe. Every check of DB.Health (GET /healthz) commits an
-- update of this one row through the writer connection, proving that the
-- database takes writes, not merely that it answers.
CREATE TABLE health (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	probes  INTEGER NOT NULL,
	checked INTEGER NOT NULL
) STRICT;

INSERT INTO health (id, probes, checked) VALUES (1, 0, 0);

-- Scratch space for the probe's room check: a row is inserted and deleted
-- in the same transaction, so the table is empty between probes.
CREATE TABLE health_room (
	pad BLOB NOT NULL
) STRICT;

-- Leases: which server process runs a document's hub (package cluster).
-- owner is a random id per process start; expires is in milliseconds of
-- the database's clock (never a process's, so that clocks that disagree
-- cannot give one document two owners). A row whose expires has passed is
-- free to take.
CREATE TABLE leases (
	doc     text COLLATE "C" PRIMARY KEY,
	owner   text NOT NULL,
	expires bigint NOT NULL
);

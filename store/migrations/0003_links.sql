-- Share links. Each document has an edit token and a view token: the last
-- path segment of its edit and view links. Each holds at least 128 random
-- bits, so a token is the credential; the id is internal. Documents made
-- before this migration get random tokens of 32 hex digits.
ALTER TABLE documents ADD COLUMN edit_token TEXT;
ALTER TABLE documents ADD COLUMN view_token TEXT;
UPDATE documents SET edit_token = lower(hex(randomblob(16))), view_token = lower(hex(randomblob(16)));
CREATE UNIQUE INDEX documents_edit_token ON documents (edit_token);
CREATE UNIQUE INDEX documents_view_token ON documents (view_token);

-- Server secrets, made once and kept: the key that derives clients'
-- public ids from their secrets must outlive restarts.
CREATE TABLE secrets (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
) STRICT;

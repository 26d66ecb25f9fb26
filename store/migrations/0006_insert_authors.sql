-- Who wrote the text an op inserts, when that is not the op's author: a
-- restore puts back text with the authors who wrote it. JSON [[len,
-- author], …] over the op's inserted text taken end to end; NULL: all of it
-- is the op's author's.
ALTER TABLE ops ADD COLUMN insert_authors TEXT;

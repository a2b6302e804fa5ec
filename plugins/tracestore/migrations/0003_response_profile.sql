-- The profile a response's session was opened for ('' on the main path),
-- beside its session, so that SQL over the store can tell a coding
-- client's responses from a chat client's. The plugin reads it from rec;
-- responses written before this migration have none.
ALTER TABLE responses ADD COLUMN profile text NOT NULL DEFAULT '';

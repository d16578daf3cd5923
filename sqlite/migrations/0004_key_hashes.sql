-- Blocking keys are stored as 64-bit hashes: a probabilistic standard keeps
-- several keys per record, and integer keys make the index a third of the
-- size and an import of a million records several times faster. A hash
-- collision only adds a candidate, which the match standard then rejects.
DROP TABLE record_keys;
CREATE TABLE record_keys (
	key       INTEGER NOT NULL,
	record_id TEXT NOT NULL,
	PRIMARY KEY (key, record_id)
) WITHOUT ROWID;
-- Re-key on next open.
DELETE FROM meta WHERE key = 'key_version';

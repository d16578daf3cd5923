-- Trained Fellegi-Sunter match models: each version kept, the newest current.
CREATE TABLE match_models (
	seq        INTEGER PRIMARY KEY,
	hash       TEXT NOT NULL,
	model      BLOB NOT NULL,
	created_at TEXT NOT NULL,
	log_index  INTEGER NOT NULL
);

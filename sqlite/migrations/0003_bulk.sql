-- Bulk verification jobs: the uploaded file, progress, and each row's decision.
CREATE TABLE bulk_jobs (
	id          TEXT PRIMARY KEY,
	agency_id   TEXT NOT NULL,
	request     TEXT NOT NULL, -- JSON: purpose, legal basis, fields
	state       TEXT NOT NULL,
	total       INTEGER NOT NULL,
	done        INTEGER NOT NULL DEFAULT 0,
	file_sha256 TEXT NOT NULL,
	input       BLOB NOT NULL, -- the uploaded CSV, dropped when the job ends
	summary     TEXT,
	error       TEXT,
	created_at  TEXT NOT NULL,
	finished_at TEXT,
	log_index   INTEGER NOT NULL,
	rules_gen   INTEGER, -- the generations its rows are decided under
	registry_gen INTEGER
);
CREATE INDEX bulk_jobs_state ON bulk_jobs(state);

CREATE TABLE bulk_rows (
	job_id TEXT NOT NULL,
	seq    INTEGER NOT NULL, -- 0, 1, … in file order
	row    TEXT NOT NULL,    -- JSON custodian.BulkRow, with record_id
	PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;

-- Reviewers' decisions on a job awaiting review: two different approvals
-- release its held fields; one denial withholds them.
CREATE TABLE bulk_reviews (
	job_id     TEXT NOT NULL,
	reviewer   TEXT NOT NULL,
	approve    INTEGER NOT NULL,
	reason     TEXT NOT NULL,
	decided_at TEXT NOT NULL,
	PRIMARY KEY (job_id, reviewer)
);

-- The whole first schema: registry, agencies, staff, policy history,
-- lookups and reviews, blocks, and the Merkle log.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE registry_fields (
	name     TEXT PRIMARY KEY,
	position INTEGER NOT NULL
);

CREATE TABLE records (
	record_id  TEXT PRIMARY KEY,
	data       TEXT NOT NULL, -- JSON object field -> value
	keys       TEXT NOT NULL, -- its blocking keys, space-separated (to replace them on update)
	updated_at TEXT NOT NULL
);

-- Blocking keys of the match standard: where a query's candidates are found.
CREATE TABLE record_keys (
	key       TEXT NOT NULL,
	record_id TEXT NOT NULL,
	PRIMARY KEY (key, record_id)
) WITHOUT ROWID;

CREATE TABLE agencies (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL,
	jurisdiction TEXT NOT NULL DEFAULT '',
	groups       TEXT NOT NULL, -- JSON array
	key_id       TEXT NOT NULL UNIQUE,
	key_hash     BLOB NOT NULL,
	created_at   TEXT NOT NULL,
	revoked_at   TEXT
);

CREATE TABLE staff (
	name       TEXT PRIMARY KEY,
	role       TEXT NOT NULL,
	key_id     TEXT NOT NULL UNIQUE,
	key_hash   BLOB NOT NULL,
	created_at TEXT NOT NULL,
	revoked_at TEXT
);

CREATE TABLE policies (
	hash       TEXT PRIMARY KEY,
	text       TEXT NOT NULL,
	created_at TEXT NOT NULL,
	log_index  INTEGER NOT NULL,
	seq        INTEGER NOT NULL UNIQUE -- install order; the highest is current
);

CREATE TABLE lookups (
	id             TEXT PRIMARY KEY,
	agency_id      TEXT NOT NULL REFERENCES agencies(id),
	purpose        TEXT NOT NULL,
	request        TEXT NOT NULL, -- JSON LookupRequest (personal data: never logged)
	outcome        TEXT NOT NULL,
	record_id      TEXT NOT NULL DEFAULT '',
	decisions      TEXT NOT NULL, -- JSON: per-field decisions, each reason once (decisions.go)
	released       TEXT NOT NULL, -- JSON field -> value
	pending        TEXT NOT NULL, -- JSON []string
	withheld       TEXT NOT NULL, -- JSON field -> Withheld, only where the decisions do not imply it
	status         TEXT NOT NULL,
	policy_version TEXT NOT NULL,
	log_index      INTEGER NOT NULL,
	created_at     TEXT NOT NULL
);
CREATE INDEX lookups_agency ON lookups(agency_id, created_at);

CREATE TABLE review_items (
	lookup_id  TEXT NOT NULL REFERENCES lookups(id),
	field      TEXT NOT NULL,
	state      TEXT NOT NULL,
	rules      TEXT NOT NULL, -- JSON []string
	reason     TEXT NOT NULL,
	reviewer   TEXT NOT NULL DEFAULT '',
	note       TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL,
	decided_at TEXT,
	PRIMARY KEY (lookup_id, field)
);
CREATE INDEX review_items_state ON review_items(state, created_at);

CREATE TABLE blocks (
	id         TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	target     TEXT NOT NULL,
	order_ref  TEXT NOT NULL,
	created_at TEXT NOT NULL,
	lifted_at  TEXT,
	lift_order TEXT NOT NULL DEFAULT ''
);

-- The Merkle log. Entries are appended in the same transaction as the state
-- they record; the integrator folds them into the tree later.
CREATE TABLE log_entries (
	idx       INTEGER PRIMARY KEY,
	body      BLOB NOT NULL,
	leaf_hash BLOB NOT NULL
);
CREATE TABLE log_nodes (
	level INTEGER NOT NULL,
	idx   INTEGER NOT NULL,
	hash  BLOB NOT NULL,
	PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE log_state (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	size INTEGER NOT NULL,
	rng  BLOB NOT NULL -- compact range hashes, 32 bytes each
);
CREATE TABLE log_checkpoints (
	size       INTEGER PRIMARY KEY,
	note       BLOB NOT NULL,
	created_at TEXT NOT NULL
);

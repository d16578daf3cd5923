-- A random identity for this store, kept for its whole life. Files derived
-- from the registry (the match registry's prepared copy) carry it, so a
-- store created afresh in the same place, whose generations start again
-- from one, never takes another store's copy for its own.
INSERT INTO meta(key, value) VALUES ('store_id', lower(hex(randomblob(16))));

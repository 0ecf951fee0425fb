-- Version 2: storage settings fitted to how each bucket is written. Settings
-- only: no row changes, and replicas still on version 1 keep working. They
-- apply to pages written from now on (a REINDEX or VACUUM FULL applies them
-- to old pages too; not needed).

-- Append-only buckets (issuer.Bucket.AppendOnly: new keys only grow). A
-- B-tree that receives every key at its right end splits its last page and
-- leaves the left half at the index fillfactor (90 by default): 100 packs
-- it full, as bbolt's FillPercent = 1.0 does for these buckets. Their rows
-- are never updated, so autovacuum visits new pages early (insert-driven
-- autovacuum) and freezes them at once: the visibility map stays current
-- (index-only scans) and no anti-wraparound pass has to rewrite years of
-- audit log later.
ALTER INDEX audit_pkey SET (fillfactor = 100);
ALTER INDEX audit_index_pkey SET (fillfactor = 100);
ALTER INDEX status_events_pkey SET (fillfactor = 100);
ALTER INDEX checkpoints_pkey SET (fillfactor = 100);
ALTER TABLE audit SET (autovacuum_vacuum_insert_scale_factor = 0.02, autovacuum_freeze_min_age = 0);
ALTER TABLE audit_index SET (autovacuum_vacuum_insert_scale_factor = 0.02, autovacuum_freeze_min_age = 0);
ALTER TABLE status_events SET (autovacuum_vacuum_insert_scale_factor = 0.02, autovacuum_freeze_min_age = 0);
ALTER TABLE checkpoints SET (autovacuum_vacuum_insert_scale_factor = 0.02, autovacuum_freeze_min_age = 0);

-- Grants (offers, access tokens, nonces) get time-ordered keys but are then
-- used once (an update) and expire (a delete): full index pages, room in
-- the heap pages for the update to stay on its page (a HOT update: no new
-- index entry).
ALTER INDEX grants_pkey SET (fillfactor = 100);
ALTER TABLE grants SET (fillfactor = 90, autovacuum_vacuum_scale_factor = 0.02);

-- Small tables whose rows are rewritten all the time (the audit head and
-- counters in meta at nearly every commit, a list's version at each
-- revocation, a job's progress): half-empty pages, so that each update is
-- HOT and its dead versions are pruned on the page without waiting for
-- VACUUM.
ALTER TABLE meta SET (fillfactor = 50);
ALTER TABLE status_lists SET (fillfactor = 50);
ALTER TABLE jobs SET (fillfactor = 50);

-- Status and used-index chunks are 4 KiB values rewritten at each
-- revocation and issuance. By default a row over 2 KiB is compressed and,
-- when it stays over 2 KiB (a used-index bitmap filling up is random bits),
-- moved to the TOAST table in three pieces: each rewrite then writes three
-- TOAST rows and their index entries. STORAGE MAIN keeps the value in the
-- row, compressed when that helps: one row written per rewrite. The
-- tables are small (a 2^20-entry list is 64 + 32 chunks), so half-empty
-- pages cost nothing and let compressible chunks update in place.
ALTER TABLE status_chunks ALTER COLUMN v SET STORAGE MAIN;
ALTER TABLE used_chunks ALTER COLUMN v SET STORAGE MAIN;
ALTER TABLE status_chunks SET (fillfactor = 50);
ALTER TABLE used_chunks SET (fillfactor = 50);

-- The province-sized tables (25 M permits, their person index, retention
-- entries) take updates and deletes: vacuum after 2 % of their rows are dead
-- instead of 20 % (5 M dead rows at 25 M), and leave room in permit pages
-- for HOT updates when a credential is issued or a permit endorsed.
ALTER TABLE permits SET (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02);
ALTER TABLE applications SET (fillfactor = 90, autovacuum_vacuum_scale_factor = 0.02);
ALTER TABLE persons SET (autovacuum_vacuum_scale_factor = 0.02);
ALTER TABLE shred SET (autovacuum_vacuum_scale_factor = 0.02);

-- Version 1: one table per bucket of issuer.Storage (see the package doc for
-- why not one keyed table). k is the key and v the value, both bytea: bytea
-- sorts bytewise whatever the database's collation, as the contract's
-- ordered buckets require. An empty value is a present, empty bytea; an
-- absent key has no row.
CREATE TABLE meta (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE applications (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE photos (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE permits (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE persons (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE queue (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE status_lists (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE status_chunks (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE used_chunks (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE status_events (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE tokens (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE grants (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE audit (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE audit_index (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE checkpoints (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE shred (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE data_keys (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE jobs (k bytea PRIMARY KEY, v bytea NOT NULL);

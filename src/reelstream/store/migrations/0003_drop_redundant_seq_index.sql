-- seq is an identity column (unique by construction) and is only ever read through
-- (ingested_by, seq); one index fewer makes every batch insert cheaper.
DROP INDEX IF EXISTS ratings_seq_idx;

-- The streaming worker checkpoints its model together with the sequence number of the last
-- event it learned; after a crash it learns, in order, the events it stored after that.
ALTER TABLE ratings
    ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY,
    ADD COLUMN ingested_by text;

CREATE UNIQUE INDEX ratings_seq_idx ON ratings (seq);
CREATE INDEX ratings_ingested_by_seq_idx ON ratings (ingested_by, seq);

-- reelstream event store: movies, rating events, streaming-worker checkpoints.
-- Applied once by reelstream.store.upgrade(), inside a transaction.

CREATE TABLE movies (
    movie_id  integer PRIMARY KEY,
    title     text    NOT NULL,
    genres    text[]  NOT NULL DEFAULT '{}',
    year      smallint
);

-- No foreign key to movies: events may arrive before the catalogue is loaded.
CREATE TABLE ratings (
    event_id    uuid        PRIMARY KEY,
    user_id     integer     NOT NULL,
    movie_id    integer     NOT NULL,
    rating      real        NOT NULL CHECK (rating >= 0.5 AND rating <= 5.0),
    rated_at    timestamptz NOT NULL,
    ingested_at timestamptz NOT NULL DEFAULT now()
);

-- Time-window snapshots (nightly retraining) and per-user reads (newest first).
CREATE INDEX ratings_rated_at_idx ON ratings (rated_at);
CREATE INDEX ratings_user_rated_at_idx ON ratings (user_id, rated_at DESC);

CREATE TABLE worker_checkpoints (
    name           text        PRIMARY KEY,
    model          bytea       NOT NULL,
    offsets        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    events_learned bigint      NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Full-text search over events (GET /events/search): a stored tsvector of name, performer, venue
-- and city with the 'simple' configuration (lowercased words, no stemming and no stopwords:
-- performer, venue and city names are not prose), and a GIN index on it.
ALTER TABLE events ADD COLUMN IF NOT EXISTS search_tsv tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', name || ' ' || performer || ' ' || venue || ' ' || city)) STORED;
CREATE INDEX IF NOT EXISTS events_search ON events USING GIN (search_tsv);

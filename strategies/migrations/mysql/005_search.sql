-- Full-text search over events (GET /events/search): a stored generated column holding name,
-- performer, venue and city, lowercased and in a case- and accent-insensitive collation, with a
-- FULLTEXT index on it, searched with MATCH ... AGAINST in boolean mode. (A FULLTEXT index
-- straight over the four utf8mb4_bin columns would match case-sensitively, and differently
-- for rows indexed at build time and rows inserted later.) Stopwords are switched off for this
-- session while the index is built, so names such as "The Who" stay findable; words shorter than
-- innodb_ft_min_token_size (3 by default) are not indexed, and the server matches them with LIKE
-- on the same column.
ALTER TABLE events ADD COLUMN search_text TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci
    GENERATED ALWAYS AS (LOWER(CONCAT_WS(' ', name, performer, venue, city))) STORED;
SET SESSION innodb_ft_enable_stopword = OFF;
CREATE FULLTEXT INDEX events_search ON events (search_text);
SET SESSION innodb_ft_enable_stopword = ON;

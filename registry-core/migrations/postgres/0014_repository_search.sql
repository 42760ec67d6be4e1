-- Substring search over repository names (`/search`, `q=name=~x` on repository lists) is
-- `name LIKE '%x%'`, which no B-tree serves: at 100,000 repositories every search read every
-- name. A trigram index serves it. pg_trgm ships with PostgreSQL (contrib) and is a trusted
-- extension from PostgreSQL 13 on, so a database owner may create it; where it cannot be
-- created, search keeps working, without the index.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX IF NOT EXISTS repositories_name_trgm ON repositories USING gin (name gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available (%): repository search runs without its index', SQLERRM;
END
$$;

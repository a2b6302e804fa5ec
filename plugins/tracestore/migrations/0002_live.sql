-- Rows past retention are hidden at once, as the Badger store's expired
-- entries are, though the retention loop deletes them only at its next
-- round. expires_at is unix nanoseconds by the writer's clock.
CREATE FUNCTION mcphost_live(expires_at bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT expires_at IS NULL OR expires_at > (extract(epoch FROM statement_timestamp()) * 1000000000)::bigint
$$;

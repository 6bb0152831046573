-- Webhook secrets are encrypted at rest (by the application, with COOPFLOW_SECRETS_KEY) and
-- wiped when their subscription is deleted. Rows stored in plaintext before are encrypted by
-- the worker at its start (the key is not the database's to know); from now on no row may be
-- written in plaintext (the Standard Webhooks form, `whsec_…`, which no sealed value takes).
ALTER TABLE webhooks ALTER COLUMN secret DROP NOT NULL;
UPDATE webhooks SET secret = NULL WHERE deleted_at IS NOT NULL;
ALTER TABLE webhooks ADD CONSTRAINT webhooks_secret_wiped
    CHECK (deleted_at IS NULL OR secret IS NULL);
ALTER TABLE webhooks ADD CONSTRAINT webhooks_secret_sealed
    CHECK (secret NOT LIKE 'whsec\_%') NOT VALID;

-- Attempts recorded before said what the connection's error said (the worker's network seen
-- from inside); they keep only the plain reason given from now on.
UPDATE delivery_attempts SET error = CASE
        WHEN error ILIKE '%timeout%' THEN 'timed out'
        WHEN error ILIKE '%refused%' THEN 'connection refused'
        ELSE 'could not connect' END
    WHERE error IS NOT NULL AND error NOT LIKE 'answered %';
UPDATE webhook_deliveries SET last_error = CASE
        WHEN last_error ILIKE '%timeout%' THEN 'timed out'
        WHEN last_error ILIKE '%refused%' THEN 'connection refused'
        ELSE 'could not connect' END
    WHERE last_error IS NOT NULL AND last_error NOT LIKE 'answered %'
    AND last_error <> 'subscription deleted';

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

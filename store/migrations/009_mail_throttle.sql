-- E-mails per address: nobody can flood a cooperation's people (DESIGN.md). An address gets
-- at most one e-mail per hour about one cooperation and one event type; what comes within
-- the hour waits for that address's digest for that cooperation. Addresses are personal
-- data: they live in these tables (and `contacts`) only, are compared without case, and are
-- erased by address (store.delivery.forget_address).

-- What each address got of each notification: sent at once ('pending' until it is), held
-- for a digest ('held'; `digest_id` once a digest takes it), then 'sent' (or 'logged' with
-- no SMTP server) at `sent_at`, 'failed' when given up, 'dropped' when the address stopped
-- being a contact before it went.
CREATE TABLE notification_mails (
    notification_key text NOT NULL REFERENCES notifications (key),
    address          text NOT NULL,
    cooperation_id   text NOT NULL,
    about            text NOT NULL,
    status           text NOT NULL
                     CHECK (status IN ('pending', 'held', 'sent', 'logged', 'failed', 'dropped')),
    digest_id        bigint,
    attempts         integer NOT NULL DEFAULT 0,
    last_error       text,
    created_at       timestamptz NOT NULL,
    sent_at          timestamptz
);
CREATE UNIQUE INDEX notification_mails_once ON notification_mails (notification_key, lower(address));
-- The decisions look for what waits of one type; erasure looks for one address; each pass
-- of the outbox looks for what is held and not yet in a digest.
CREATE INDEX notification_mails_waiting ON notification_mails (lower(address), cooperation_id, about)
    WHERE status IN ('pending', 'held');
CREATE INDEX notification_mails_address ON notification_mails (lower(address));
CREATE INDEX notification_mails_held ON notification_mails (created_at)
    WHERE status = 'held' AND digest_id IS NULL;
CREATE INDEX notification_mails_digest ON notification_mails (digest_id) WHERE digest_id IS NOT NULL;

-- Per address, cooperation and event type, when the last e-mail telling of that type went
-- (alone or in a digest): the hour runs from there. The row is also what serialises the
-- decision to send or hold between processes.
CREATE TABLE mail_windows (
    address        text NOT NULL,
    cooperation_id text NOT NULL,
    about          text NOT NULL,
    last_sent_at   timestamptz
);
CREATE UNIQUE INDEX mail_windows_key ON mail_windows (lower(address), cooperation_id, about);

-- A digest: one e-mail to one address about one cooperation, telling what was held. Leased,
-- retried and given up as the outbox's other deliveries; at most one waits per address and
-- cooperation, and what comes due while it waits joins it.
CREATE TABLE mail_digests (
    id              bigserial PRIMARY KEY,
    address         text NOT NULL,
    cooperation_id  text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'logged', 'failed', 'dropped')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    lease_until     timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz
);
CREATE UNIQUE INDEX mail_digests_waiting ON mail_digests (lower(address), cooperation_id)
    WHERE status = 'pending';
CREATE INDEX mail_digests_due ON mail_digests (next_attempt_at) WHERE status = 'pending';
CREATE INDEX mail_digests_address ON mail_digests (lower(address));
ALTER TABLE notification_mails
    ADD CONSTRAINT notification_mails_digest_fk FOREIGN KEY (digest_id) REFERENCES mail_digests (id);

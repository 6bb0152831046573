-- Who is told, and how: a subject's contacts (personal data: here only, erasable), webhook
-- subscriptions, and the deliveries of the outbox to them, each attempt recorded.
CREATE TABLE contacts (
    role       text NOT NULL,
    subject    text NOT NULL,
    emails     text[] NOT NULL DEFAULT '{}',
    locale     text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (role, subject)
);

CREATE TABLE webhooks (
    id            text PRIMARY KEY,
    owner_role    text NOT NULL CHECK (owner_role IN ('funder', 'facilitator')),
    owner_subject text NOT NULL,
    url           text NOT NULL,
    secret        text NOT NULL,
    events        text[],
    created_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz
);
CREATE INDEX webhooks_owner ON webhooks (owner_role, owner_subject) WHERE deleted_at IS NULL;

-- One delivery per (webhook, cooperation, event): created with the event, in its transaction.
CREATE TABLE webhook_deliveries (
    id              bigserial PRIMARY KEY,
    webhook_id      text NOT NULL REFERENCES webhooks (id),
    cooperation_id  text NOT NULL,
    seq             bigint NOT NULL,
    event_type      text NOT NULL,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    -- Sent again by its owner after it was given up: a new bounded time starts then.
    resent_at       timestamptz,
    UNIQUE (webhook_id, cooperation_id, seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);

CREATE TABLE delivery_attempts (
    id          bigserial PRIMARY KEY,
    delivery_id bigint NOT NULL REFERENCES webhook_deliveries (id),
    at          timestamptz NOT NULL DEFAULT now(),
    status_code integer,
    error       text,
    duration_ms integer NOT NULL
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);

-- E-mails of the notifications outbox: one row per notification, sent or given up. What was
-- recorded before e-mails were sent is not sent now, years late.
ALTER TABLE notifications ADD COLUMN status text NOT NULL DEFAULT 'skipped';
ALTER TABLE notifications ALTER COLUMN status SET DEFAULT 'pending';
ALTER TABLE notifications ADD COLUMN attempts integer NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE notifications ADD COLUMN lease_until timestamptz;
ALTER TABLE notifications ADD COLUMN last_error text;
ALTER TABLE notifications ADD COLUMN sent_to text[];
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';

-- Notifications to deliver (outbox): who, about which event; contacts are resolved at delivery.
CREATE TABLE notifications (
    key            text PRIMARY KEY,
    cooperation_id text NOT NULL,
    to_role        text NOT NULL,
    to_subject     text,
    about          text NOT NULL,
    seq            bigint NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    delivered_at   timestamptz
);
CREATE INDEX notifications_pending ON notifications (created_at) WHERE delivered_at IS NULL;

-- Reports per funding line and report period (rule 12), rendered from the event log.
CREATE TABLE reports (
    id             text PRIMARY KEY,
    cooperation_id text NOT NULL,
    line           text NOT NULL,
    period         integer NOT NULL,
    period_start   timestamptz NOT NULL,
    period_end     timestamptz NOT NULL,
    final          boolean NOT NULL,
    locale         text NOT NULL,
    content        jsonb NOT NULL,
    markdown       text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reports_cooperation ON reports (cooperation_id, line, period);

-- A commitment is freed once, at close (rule 9).
ALTER TABLE commitments ADD COLUMN freed_at timestamptz;

-- Bearer tokens, stored hashed (a token is shown once, when created), scoped to a role and
-- a subject: a funder id, a facilitator id (or a fiscal host's), or a cooperation id.
CREATE TABLE tokens (
    id         text PRIMARY KEY,
    role       text NOT NULL CHECK (role IN ('funder', 'facilitator', 'collective')),
    subject    text NOT NULL,
    hash       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX tokens_subject ON tokens (subject);

-- Idempotency-Key of POSTs, per subject: the first answer, given again for the same body.
CREATE TABLE idempotency (
    subject      text NOT NULL,
    key          text NOT NULL,
    fingerprint  text NOT NULL,
    status       integer,
    headers      jsonb,
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    PRIMARY KEY (subject, key)
);

-- Who may see a cooperation, and the list filters, in the query itself.
ALTER TABLE cooperations ADD COLUMN funders text[] NOT NULL DEFAULT '{}';
CREATE INDEX cooperations_programmes ON cooperations USING gin (programmes);
CREATE INDEX cooperations_funders ON cooperations USING gin (funders);
CREATE INDEX cooperations_fiscal_host ON cooperations (fiscal_host);
CREATE INDEX cooperations_phase_id ON cooperations (phase, id);
CREATE INDEX cooperations_overdue_id ON cooperations (overdue, id);
DROP INDEX cooperations_phase;

-- Funding lines as funders' inboxes and dashboards read them.
CREATE TABLE lines (
    cooperation_id    text NOT NULL,
    line              text NOT NULL,
    programme         text NOT NULL,
    funder            text NOT NULL,
    status            text NOT NULL,
    version           integer NOT NULL,
    currency          text NOT NULL,
    committed         numeric(18, 2) NOT NULL,
    released          numeric(18, 2) NOT NULL,
    freed             numeric(18, 2) NOT NULL,
    awaiting_approval text[] NOT NULL DEFAULT '{}',
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cooperation_id, line)
);
CREATE INDEX lines_programme ON lines (programme, status);

-- Releases by purpose and phase (rule 12's animation apart), from TrancheReleased.
CREATE TABLE releases (
    cooperation_id text NOT NULL,
    seq            bigint NOT NULL,
    line           text NOT NULL,
    programme      text NOT NULL,
    tranche        text NOT NULL,
    occurrence     integer,
    phase          text NOT NULL,
    purpose        text NOT NULL,
    kind           text NOT NULL,
    amount         numeric(18, 2) NOT NULL,
    currency       text NOT NULL,
    at             timestamptz NOT NULL,
    PRIMARY KEY (cooperation_id, seq)
);
CREATE INDEX releases_programme ON releases (programme);

-- Loans outstanding and in arrears.
CREATE TABLE loans (
    cooperation_id text NOT NULL,
    line           text NOT NULL,
    programme      text NOT NULL,
    tranche        text NOT NULL,
    currency       text NOT NULL,
    principal      numeric(18, 2) NOT NULL,
    outstanding    numeric(18, 2) NOT NULL,
    overdue        integer NOT NULL,
    settled        boolean NOT NULL,
    written_off    numeric(18, 2),
    PRIMARY KEY (cooperation_id, line, tranche)
);
CREATE INDEX loans_programme ON loans (programme);

-- Check-ins: their texts come from the API (never through workflow history), their period
-- and status from the events.
CREATE TABLE check_ins (
    cooperation_id text NOT NULL,
    id             text NOT NULL,
    narrative      text,
    needs          text,
    indicators     jsonb NOT NULL DEFAULT '{}',
    stint          integer,
    period         integer,
    phase          text,
    status         text NOT NULL DEFAULT 'pending',
    submitted_at   timestamptz,
    reviewed_at    timestamptz,
    comment        text,
    replaced_by    text,
    PRIMARY KEY (cooperation_id, id)
);
CREATE INDEX check_ins_queue ON check_ins (status, submitted_at);

-- Transition requests of collectives, as their facilitators answer them.
CREATE TABLE transition_requests (
    cooperation_id text NOT NULL,
    seq            bigint NOT NULL,
    action         text NOT NULL,
    to_phase       text,
    reason         text NOT NULL,
    status         text NOT NULL,
    requested_at   timestamptz NOT NULL,
    decided_at     timestamptz,
    PRIMARY KEY (cooperation_id, seq)
);
CREATE INDEX transition_requests_queue ON transition_requests (status, requested_at);

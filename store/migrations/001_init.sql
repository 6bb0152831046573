-- Programmes and their versions: a funding line keeps the version it was attached with.
CREATE TABLE programmes (
    id              text PRIMARY KEY,
    funder          text NOT NULL,
    currency        text NOT NULL,
    current_version integer NOT NULL,
    -- The programme-wide envelope and what acceptances have committed against it (rule 9).
    budget          numeric(18, 2) NOT NULL CHECK (budget >= 0),
    committed       numeric(18, 2) NOT NULL DEFAULT 0 CHECK (committed >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE programme_versions (
    programme_id text NOT NULL REFERENCES programmes (id),
    version      integer NOT NULL,
    spec         jsonb NOT NULL,
    spec_hash    text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_id, version)
);

-- Read model of cooperations, projected from their workflows' events.
CREATE TABLE cooperations (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    facilitator text,
    fiscal_host text,
    phase       text,
    paused      boolean NOT NULL DEFAULT false,
    outcome     text,
    overdue     boolean NOT NULL DEFAULT false,
    programmes  text[] NOT NULL DEFAULT '{}',
    state       jsonb,
    last_seq    bigint NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cooperations_facilitator ON cooperations (facilitator);
CREATE INDEX cooperations_phase ON cooperations (phase);

-- The append-only event log: exactly once per (cooperation, seq), outliving Temporal retention.
CREATE TABLE events (
    cooperation_id text NOT NULL,
    seq            bigint NOT NULL CHECK (seq >= 1),
    type           text NOT NULL,
    at             timestamptz NOT NULL,
    data           jsonb NOT NULL DEFAULT '{}',
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cooperation_id, seq)
);

-- Ledger postings: one row per payee part; the workflow's key makes each posting happen once.
CREATE TABLE ledger (
    id              bigserial PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    cooperation_id  text NOT NULL,
    line            text NOT NULL,
    tranche         text NOT NULL,
    occurrence      integer,
    kind            text NOT NULL CHECK (kind IN ('release', 'loan', 'repayment')),
    purpose         text,
    amount          numeric(18, 2) NOT NULL,
    currency        text NOT NULL,
    payee           text NOT NULL,
    beneficiary     text NOT NULL,
    at              timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_cooperation ON ledger (cooperation_id, at);

-- Commitments per funding line (rule 9).
CREATE TABLE commitments (
    cooperation_id text NOT NULL,
    programme_id   text NOT NULL REFERENCES programmes (id),
    amount         numeric(18, 2) NOT NULL CHECK (amount >= 0),
    freed          numeric(18, 2) NOT NULL DEFAULT 0 CHECK (freed >= 0),
    committed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cooperation_id, programme_id)
);

-- Personal data lives here only (names, contacts of people), erasable on request (RGPD).
-- Workflow state, history and events carry the ids.
CREATE TABLE people (
    id             text NOT NULL,
    cooperation_id text NOT NULL,
    name           text,
    contact        jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cooperation_id, id)
);

-- Idempotency-Keys are a caller's, and a caller is a role and a subject (DESIGN.md, "Roles are
-- namespaces"): a collective whose id equals a funder's must never replay the funder's
-- answers. Each key is kept 24 hours with the path it was used on (so that the answers about
-- a cooperation can be found and erased) and the command request id made from it (kept when a
-- failed request lets the key go, so that a retry is the same command; new once the key has
-- expired, so that a key used again a day later is a new command).
ALTER TABLE idempotency RENAME TO idempotency_by_subject;
ALTER TABLE idempotency_by_subject RENAME CONSTRAINT idempotency_pkey TO idempotency_by_subject_pkey;

CREATE TABLE idempotency (
    role         text NOT NULL CHECK (role IN ('funder', 'facilitator', 'collective')),
    subject      text NOT NULL,
    key          text NOT NULL,
    path         text NOT NULL,
    fingerprint  text NOT NULL,
    request      text NOT NULL,
    status       integer,
    headers      jsonb,
    body         bytea,
    -- When the key was first used: it is forgotten 24 hours later.
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- When the request now running with it began (a claim abandoned for 5 minutes is taken over).
    claimed_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    -- The request failed before answering: the next one with the key runs (as the same command).
    released     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (role, subject, key)
);
CREATE INDEX idempotency_created ON idempotency (created_at);

-- Keys of the last day kept where their subject has tokens of one role only (which caller
-- used them is then known); their request ids were the subject and the key, and their paths
-- were not kept: the Location they answered stands for it. The others are forgotten: a key
-- cannot be given to the wrong role.
INSERT INTO idempotency (role, subject, key, path, fingerprint, request, status, headers, body,
                         created_at, claimed_at, completed_at)
SELECT t.role, i.subject, i.key, coalesce(i.headers->>'location', ''), i.fingerprint,
       i.subject || ':' || i.key, i.status, i.headers, i.body, i.created_at, i.created_at,
       i.completed_at
FROM idempotency_by_subject i
JOIN (SELECT subject, min(role) AS role FROM tokens GROUP BY subject
      HAVING count(DISTINCT role) = 1) t ON t.subject = i.subject
WHERE i.created_at > now() - interval '24 hours';
DROP TABLE idempotency_by_subject;

-- Erasures of personal data (DESIGN.md, "Personal data can be erased"): the event log keeps
-- its sequence, each event whose free texts were blanked keeps a marker (`erased` in its
-- data), and each erasure is recorded here, shown with the cooperation's events.
CREATE TABLE erasures (
    id             bigserial PRIMARY KEY,
    cooperation_id text NOT NULL,
    -- The member whose name and contacts were erased; NULL: the whole cooperation's.
    member         text,
    at             timestamptz NOT NULL DEFAULT now(),
    -- How many events had free texts blanked.
    events         integer NOT NULL DEFAULT 0
);
CREATE INDEX erasures_cooperation ON erasures (cooperation_id, id);

-- Which rules each cooperation runs under, and since when (domain/rules.py): a cooperation
-- moves to newer rules only at a point recorded here and in its workflow's history.
ALTER TABLE cooperations ADD COLUMN rules_version integer NOT NULL DEFAULT 1;

CREATE TABLE rules_history (
    cooperation_id text NOT NULL,
    rules_version  integer NOT NULL,
    from_seq       bigint NOT NULL,
    at             timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cooperation_id, rules_version)
);

-- A cooperation something unexpected keeps failing in (its effects, or its workflow task):
-- set and cleared by the worker's fault watch from Temporal's visibility.
ALTER TABLE cooperations ADD COLUMN fault text;
ALTER TABLE cooperations ADD COLUMN fault_since timestamptz;
CREATE INDEX cooperations_fault ON cooperations (fault) WHERE fault IS NOT NULL;

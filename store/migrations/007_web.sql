-- The web interface's sign-in: a link e-mailed to a contact of the subject (single use, short
-- lived), then a session that is a bearer token of its own, kept in a cookie and expiring.
ALTER TABLE tokens ADD COLUMN expires_at timestamptz;

CREATE TABLE signin_links (
    hash       text PRIMARY KEY,
    role       text NOT NULL CHECK (role IN ('funder', 'facilitator', 'collective')),
    subject    text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX signin_links_expiry ON signin_links (expires_at);

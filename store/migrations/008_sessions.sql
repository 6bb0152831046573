-- Who may get in (issue 16): each contact is one address, confirmed by its owner before it
-- receives anything; a web session remembers what opened it (a token, or the contact address
-- whose link was used) and dies with it.
CREATE TABLE contact_addresses (
    role         text NOT NULL CHECK (role IN ('funder', 'facilitator', 'collective')),
    subject      text NOT NULL,
    address      text NOT NULL,
    address_key  text GENERATED ALWAYS AS (lower(address)) STORED,
    position     integer NOT NULL DEFAULT 0,
    added_at     timestamptz NOT NULL DEFAULT now(),
    confirmed_at timestamptz,
    PRIMARY KEY (role, subject, address_key)
);
CREATE INDEX contact_addresses_key ON contact_addresses (address_key)
    WHERE confirmed_at IS NOT NULL;

-- The arrays kept so far were never confirmed by anyone: migrated as unconfirmed (their
-- owners confirm them with the e-mail a new PUT of the address sends), then emptied.
INSERT INTO contact_addresses (role, subject, address, position)
SELECT c.role, c.subject, e.address, min(e.n)::integer
FROM contacts c, unnest(c.emails) WITH ORDINALITY AS e(address, n)
WHERE c.role IN ('funder', 'facilitator', 'collective') AND btrim(e.address) <> ''
GROUP BY c.role, c.subject, e.address
ON CONFLICT DO NOTHING;
UPDATE contacts SET emails = '{}';

-- Links that confirm an address ('confirm'), or confirm it and sign its subject in (an
-- invitation): e-mailed once, single use, stored hashed.
CREATE TABLE contact_links (
    hash       text PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('confirm', 'invite')),
    role       text NOT NULL,
    subject    text NOT NULL,
    address    text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX contact_links_subject ON contact_links (role, subject);

-- The address a sign-in link was sent to: the session it opens lives as long as that contact.
ALTER TABLE signin_links ADD COLUMN address text;

-- What opened a session: the token pasted in (its revocation, or its removal, ends the
-- session), or the contact address whose link was used: its digest (sha256 of the address in
-- lower case), so that no address outlives its erasure here.
ALTER TABLE tokens ADD COLUMN opened_by text REFERENCES tokens (id) ON DELETE CASCADE;
ALTER TABLE tokens ADD COLUMN opened_by_contact text;

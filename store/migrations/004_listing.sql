-- What `GET /v1/cooperations` needs to stay fast on 100,000 cooperations and more
-- (python -m bench.list_cooperations).

-- The planner picks between reading cooperations in id order until a page is full and
-- fetching the caller's own through an index, by how many it expects the caller to have.
-- With the default statistics only the 100 most common facilitators and fiscal hosts are
-- known: one it has not seen (a newcomer, a small one) is taken for an average one, and its
-- empty or short page read the whole table (100,000 rows: 30 ms).
ALTER TABLE cooperations
    ALTER COLUMN facilitator SET STATISTICS 1000,
    ALTER COLUMN fiscal_host SET STATISTICS 1000;
ANALYZE cooperations;

-- The outcome filter, like phase and overdue in 003: closed cooperations are few, so a
-- facilitator's completed ones were otherwise looked for row by row in id order.
CREATE INDEX cooperations_outcome_id ON cooperations (outcome, id);

-- The GIN lookups (a funder's cooperations, a programme's) without a pending list to scan:
-- every decision rewrites its cooperation's row, so with fastupdate the list grows between
-- vacuums (up to gin_pending_list_limit, 4 MB) and every lookup reads it whole. Entries now
-- go into the index at once, which for arrays of one to three ids costs little.
ALTER INDEX cooperations_funders SET (fastupdate = off);
ALTER INDEX cooperations_programmes SET (fastupdate = off);
SELECT gin_clean_pending_list('cooperations_funders');
SELECT gin_clean_pending_list('cooperations_programmes');

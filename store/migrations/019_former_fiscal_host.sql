-- Rule 20: a fiscal host whose hosting ended keeps its funds page (GET /v1/fiscal-host/funds
-- reads `c.fiscal_host = $1 OR c.state->>'former_fiscal_host' = $1`): the second condition
-- gets an index of its own, so that the OR is two index scans rather than a scan of every
-- cooperation. Few cooperations ever graduate: the index holds only theirs.
CREATE INDEX cooperations_former_fiscal_host ON cooperations ((state->>'former_fiscal_host'))
    WHERE state->>'former_fiscal_host' IS NOT NULL;

-- The forecast (GET /v1/programmes/{id}/forecast) drives each live cooperation's whole state
-- through the rules: asking a thousand workflows for it would take too long, so the same
-- projection that writes the summary keeps the state too, read for a programme in one query.
-- Text, not jsonb: it is only ever read whole, and parsed by the state's own model.
ALTER TABLE cooperations ADD COLUMN full_state text;

-- Rule 19 (rules 3): a release is an order to pay, not a payment. A ledger row of a release
-- or a loan disbursement decided under rules 3 is a versement (`payable`): ordered at `at`,
-- due by `due_by` when its programme has payment_within, paid on `paid_on` once its funder
-- records it (set once, by the projection of VersementPaid). Rows posted under rules 1 and
-- 2 keep `payable` false: they were taken as paid when released, and still read so.
ALTER TABLE ledger ADD COLUMN payable boolean NOT NULL DEFAULT false;
ALTER TABLE ledger ADD COLUMN due_by date;
ALTER TABLE ledger ADD COLUMN paid_on date;
CREATE INDEX ledger_unpaid ON ledger (cooperation_id) WHERE payable AND paid_on IS NULL;

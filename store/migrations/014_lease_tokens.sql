-- Whose lease it is. A claim of the outbox writes a token of its own with the lease; what it
-- records afterwards (sent, failed, tried again, released) counts only while that token is
-- still there: once the lease has ended and another claimer took the row, a late record of
-- the first changes nothing (and that claimer's send is the one recorded).
ALTER TABLE notifications ADD COLUMN lease_token uuid;
ALTER TABLE mail_digests ADD COLUMN lease_token uuid;
ALTER TABLE webhook_deliveries ADD COLUMN lease_token uuid;

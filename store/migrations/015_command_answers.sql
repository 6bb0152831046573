-- Exactly once, at any distance in time (issue 17): each command answered with events, by
-- its request id, with the range of events it recorded. The API looks here before sending a
-- command made from an Idempotency-Key, so that a retry long after its first try (beyond
-- what the workflow remembers, or once it has ended) gets the first answer and is never
-- decided again. Written by the effects activity with the command's events.
CREATE TABLE command_answers (
    cooperation_id text NOT NULL,
    request_id     text NOT NULL,
    first_seq      bigint NOT NULL,
    last_seq       bigint NOT NULL,
    PRIMARY KEY (cooperation_id, request_id)
);

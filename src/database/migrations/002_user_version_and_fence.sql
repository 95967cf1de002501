-- PATCH /api/users/:id is a read-modify-write of `version` under a distributed lock;
-- `lock_fence` keeps the highest fencing token that wrote the row, so a holder whose lease
-- was lost (and who may not know it yet) cannot overwrite a newer holder's write.
ALTER TABLE users ADD COLUMN version integer NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN lock_fence bigint

-- Users get credentials (issue 9): an argon2id password hash (PHC string; NULL until one is
-- set: such a user cannot log in) and a role (`user`, or `admin` for the operator endpoints).
ALTER TABLE users ADD COLUMN password_hash text;
ALTER TABLE users ADD COLUMN role text NOT NULL DEFAULT 'user'

-- Extensions the schema depends on.
-- citext: case-insensitive text, so e-mail uniqueness ignores case.
CREATE EXTENSION IF NOT EXISTS citext;

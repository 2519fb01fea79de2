-- 004_refresh_grace.sql — how many grace siblings a rotated refresh token has produced.
--
-- A rotated token presented again within the grace window (two tabs racing) gets one sibling
-- token; without a count, replays inside the window could fork one token into any number of
-- live sessions. The store allows STORE_REFRESH_GRACE_MAX siblings and treats a further replay
-- as reuse. Valid SQLite and PostgreSQL 15.

ALTER TABLE refresh_tokens ADD COLUMN grace_count INTEGER NOT NULL DEFAULT 0;

-- 005_message_log.sql — messages clustered by chat, for the message log's folds (SPEC §4 chat).
--
-- Appended messages are acknowledged once they are in the message log (src/store/msglog.c) and
-- are folded into this table later, many rows of one chat at a time (src/store/sqlite_fold.c).
-- The table is keyed by (chat_id, seq) and stored WITHOUT ROWID, so a chat's rows share pages:
-- a fold writes a few pages per chat instead of a few per message. Message ids are handed out by
-- the store in log order; message_ids keeps the highest one folded, so that ids are never reused
-- after a restart. Applied once, in its own transaction, by the store at open. WITHOUT ROWID is
-- SQLite's: a PostgreSQL schema keeps the same columns and keys without it.

CREATE TABLE messages_by_chat (
    chat_id BIGINT NOT NULL REFERENCES chats (id),
    seq BIGINT NOT NULL,
    id BIGINT NOT NULL,
    sender_id BIGINT NOT NULL,
    client_msg_id TEXT,
    text TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (chat_id, seq),
    UNIQUE (chat_id, sender_id, client_msg_id)
) WITHOUT ROWID;

INSERT INTO messages_by_chat (chat_id, seq, id, sender_id, client_msg_id, text, sent_at)
    SELECT chat_id, seq, id, sender_id, client_msg_id, text, sent_at FROM messages;
DROP TABLE messages;
ALTER TABLE messages_by_chat RENAME TO messages;

-- NOT NULL is spelled out: SQLite lets a non-INTEGER primary key hold NULL otherwise.
CREATE TABLE message_ids (
    one INTEGER NOT NULL PRIMARY KEY CHECK (one = 1),
    last_id BIGINT NOT NULL
);
INSERT INTO message_ids (one, last_id) SELECT 1, COALESCE(MAX(id), 0) FROM messages;

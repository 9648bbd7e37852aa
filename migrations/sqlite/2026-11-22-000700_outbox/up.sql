-- The outbox: every message gets a global id in the order it was stored and a
-- per-topic `seq` when it is sequenced. On SQLite (one writer) that happens in
-- the same transaction; on PostgreSQL a sequencer numbers committed messages
-- afterwards, so no topic row is locked by the transactions that write them.
CREATE TABLE live_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    seq BIGINT,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO live_outbox (topic, seq, kind, data, created_at)
    SELECT topic, seq, kind, data, created_at FROM live_messages ORDER BY created_at, topic, seq;
DROP TABLE live_messages;
ALTER TABLE live_outbox RENAME TO live_messages;
CREATE UNIQUE INDEX live_messages_topic_seq ON live_messages(topic, seq);
CREATE INDEX live_messages_pending ON live_messages(id) WHERE seq IS NULL;
CREATE INDEX live_messages_created ON live_messages(created_at);

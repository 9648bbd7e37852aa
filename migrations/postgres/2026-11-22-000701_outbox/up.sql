-- The outbox: every message gets a global id when it is stored and a per-topic
-- `seq` when the sequencer numbers it after its transaction committed, so the
-- transactions that write messages lock no topic row (no hot rows, no lock
-- order between topics). See src/live/outbox.rs.
CREATE TABLE live_outbox (
    id BIGSERIAL PRIMARY KEY,
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
ALTER SEQUENCE live_outbox_id_seq RENAME TO live_messages_id_seq;
CREATE UNIQUE INDEX live_messages_topic_seq ON live_messages(topic, seq);
CREATE INDEX live_messages_pending ON live_messages(id) WHERE seq IS NULL;
CREATE INDEX live_messages_created ON live_messages(created_at);

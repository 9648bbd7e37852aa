CREATE TABLE live_messages_old (
    topic TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (topic, seq)
);
INSERT INTO live_messages_old (topic, seq, kind, data, created_at)
    SELECT topic, seq, kind, data, created_at FROM live_messages WHERE seq IS NOT NULL;
DROP TABLE live_messages;
ALTER TABLE live_messages_old RENAME TO live_messages;
CREATE INDEX live_messages_created ON live_messages(created_at);

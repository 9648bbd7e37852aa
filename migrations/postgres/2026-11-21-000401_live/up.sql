-- Live updates: every message is recorded in the transaction of the change that
-- caused it, numbered per topic; `live_topics` holds each topic's last number.
CREATE TABLE live_topics (
    topic TEXT PRIMARY KEY NOT NULL,
    last_seq BIGINT NOT NULL
);

CREATE TABLE live_messages (
    topic TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (topic, seq)
);
CREATE INDEX live_messages_created ON live_messages(created_at);

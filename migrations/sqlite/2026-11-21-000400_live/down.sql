DROP TABLE live_messages;
DROP TABLE live_topics;

-- How many people are checked in at an event, on a row of its own: a check-in
-- holds the event's row only in share mode (several doors at once), and the
-- count it adds queues on this row for the last few statements of its
-- transaction instead of on the event's row for all of them. Events read it
-- through a subquery (`events::CHECKED_IN`); an event without a row has 0.
CREATE TABLE event_tallies (
    event_id TEXT PRIMARY KEY NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    checked_in INTEGER NOT NULL DEFAULT 0,
    CHECK (checked_in >= 0)
);
INSERT INTO event_tallies (event_id, checked_in)
    SELECT id, checked_in_count FROM events WHERE checked_in_count <> 0;
ALTER TABLE events DROP COLUMN checked_in_count;

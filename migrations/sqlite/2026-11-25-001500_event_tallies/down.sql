ALTER TABLE events ADD COLUMN checked_in_count INTEGER NOT NULL DEFAULT 0;
UPDATE events SET checked_in_count =
    COALESCE((SELECT checked_in FROM event_tallies WHERE event_tallies.event_id = events.id), 0);
DROP TABLE event_tallies;

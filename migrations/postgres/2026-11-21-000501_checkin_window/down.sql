ALTER TABLE events DROP COLUMN checkin_opens_minutes;

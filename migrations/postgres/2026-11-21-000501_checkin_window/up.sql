-- How long before its start an event's check-in opens (it closes at the end).
ALTER TABLE events ADD COLUMN checkin_opens_minutes INTEGER NOT NULL DEFAULT 60;

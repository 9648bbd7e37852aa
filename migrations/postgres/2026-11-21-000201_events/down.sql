DROP TABLE registrations;
DROP TABLE events;

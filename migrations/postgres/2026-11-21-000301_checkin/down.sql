DROP TABLE checkin_scans;
DROP TABLE checkin_audit;
DROP TABLE checkins;
ALTER TABLE registrations DROP COLUMN over_capacity;
ALTER TABLE registrations DROP COLUMN walk_in_birth_year;
ALTER TABLE registrations DROP COLUMN walk_in_phone;
ALTER TABLE registrations DROP COLUMN walk_in_name;
DROP TABLE ticket_keys;

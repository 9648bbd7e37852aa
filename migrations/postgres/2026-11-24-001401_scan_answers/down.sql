ALTER TABLE checkin_scans DROP COLUMN superseded;

-- An offline scan that was counted, then lost to an earlier scan of the same
-- ticket from another phone, keeps its first answer (replayed on re-upload)
-- and is marked here instead; the anomalies list and the reports read it.
ALTER TABLE checkin_scans ADD COLUMN superseded BOOLEAN NOT NULL DEFAULT FALSE;

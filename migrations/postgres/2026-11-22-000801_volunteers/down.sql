DROP TABLE volunteer_certificates;
DROP TABLE volunteer_hours;
DROP TABLE volunteer_sessions;
DROP TABLE shift_applications;
DROP TABLE shifts;
DROP TABLE volunteers;

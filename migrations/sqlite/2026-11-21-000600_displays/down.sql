DROP TABLE announcements;
DROP TABLE displays;
DROP TABLE centre_managers;

DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
DROP TABLE notification_settings;
DROP TABLE notifications;
DROP TABLE jobs;

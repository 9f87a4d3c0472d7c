DROP TABLE shop_settings_revision;
DROP TABLE shop_settings;

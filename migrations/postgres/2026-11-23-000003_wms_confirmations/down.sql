DROP TABLE wms_confirmations;

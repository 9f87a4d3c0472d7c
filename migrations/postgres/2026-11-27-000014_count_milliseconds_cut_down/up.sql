-- An order's millisecond is its time cut down to the millisecond: PostgreSQL's date_trunc
-- already cuts down, so nothing changes here (SQLite's triggers round; see its migration).
SELECT 1;

-- How many folds have moved pending order count changes into the counts. A page remembers
-- how many orders of an anchor's millisecond lie before the anchor (the orders a batch
-- wrote with one time, counted one by one otherwise) together with this number, and uses
-- what it remembers only while the number is the same and no change is pending in that
-- millisecond: every change to which orders lie in a millisecond adds a pending change
-- there (a row, even when a statement's moves in and out of it sum to nothing), and only
-- a fold removes one. Whatever removes pending changes moves this number too.
CREATE TABLE order_count_folds (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    folds BIGINT NOT NULL
);
INSERT INTO order_count_folds (id, folds) VALUES (1, 0);

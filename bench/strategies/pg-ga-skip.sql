BEGIN;
SELECT id AS u FROM peer_units WHERE status = 'available' LIMIT 1 FOR UPDATE SKIP LOCKED \gset
UPDATE peer_units SET status = 'held', hold_id = 'peer' WHERE id = :u;
COMMIT;

\set s random(1, :rows)
BEGIN;
SELECT status FROM peer_seats WHERE id = :s FOR UPDATE;
UPDATE peer_seats SET status = 'held', hold_id = 'peer', expires_at = now() + interval '1 hour' WHERE id = :s AND status = 'available';
COMMIT;

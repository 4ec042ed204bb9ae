\set s random(1, :rows)
WITH taken AS (
  UPDATE peer_seats SET status = 'held', hold_id = 'h' || :s, expires_at = now() + interval '1 hour' WHERE id = :s AND status = 'available'
  RETURNING id)
INSERT INTO peer_holds (id, event_id, session, seats, amount_cents, status, expires_at, created_at)
SELECT 'h' || id, 'peer', 'peer', CAST(id AS TEXT), 5000, 'held', now() + interval '1 hour', now() FROM taken;

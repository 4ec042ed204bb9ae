\set s random(1, 10)
UPDATE peer_seats SET status = 'held', hold_id = 'peer', expires_at = now() + interval '1 hour' WHERE id = :s AND status = 'available';
UPDATE peer_seats SET status = 'available', expires_at = NULL WHERE id = :s AND status = 'held';

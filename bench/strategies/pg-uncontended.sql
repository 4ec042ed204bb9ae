\set s random(1, :rows)
UPDATE peer_seats SET status = 'held', hold_id = 'peer', expires_at = now() + interval '1 hour' WHERE id = :s AND status = 'available';

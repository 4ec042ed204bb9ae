\set s random(1, :rows)
WITH cand AS (SELECT id FROM peer_seats WHERE id = :s AND status = 'available' FOR UPDATE SKIP LOCKED)
UPDATE peer_seats p SET status = 'held', hold_id = 'peer', expires_at = now() + interval '1 hour' FROM cand WHERE p.id = cand.id;

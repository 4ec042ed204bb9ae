UPDATE peer_tier SET available = available - 1 WHERE id = 1 AND available > 0;

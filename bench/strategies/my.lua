-- sysbench script of the MySQL/MariaDB peers: the same statements as the pg-*.sql pgbench
-- scripts, chosen with --case (uncontended, locked, hold, skip, hot, ga-counter, ga-skip).
sysbench.cmdline.options = {
  case = {"uncontended | locked | hold | skip | hot | ga-counter | ga-skip", "uncontended"},
  rows = {"rows of peer_seats", 200000},
}

function thread_init()
  drv = sysbench.sql.driver()
  con = drv:connect()
end

function thread_done()
  con:disconnect()
end

local hold = "UPDATE peer_seats SET status = 'held', hold_id = 'peer', expires_at = NOW() + INTERVAL 1 HOUR WHERE id = %d AND status = 'available'"

function event()
  local c = sysbench.opt.case
  if c == "uncontended" then
    con:query(string.format(hold, sysbench.rand.uniform(1, sysbench.opt.rows)))
  elseif c == "locked" then
    -- pessimistic's idea in its plain form: the row lock, then the decision, in one transaction
    local s = sysbench.rand.uniform(1, sysbench.opt.rows)
    con:query("BEGIN")
    con:query(string.format("SELECT status FROM peer_seats WHERE id = %d FOR UPDATE", s))
    con:query(string.format(hold, s))
    con:query("COMMIT")
  elseif c == "hold" then
    -- the seat taken and the hold row recorded in one transaction, as a hold does; the hold id
    -- is the seat's, and the row is written only when this UPDATE took the seat
    local s = sysbench.rand.uniform(1, sysbench.opt.rows)
    con:query("BEGIN")
    con:query(string.format("UPDATE peer_seats SET status = 'held', hold_id = 'h%d', expires_at = NOW() + INTERVAL 1 HOUR WHERE id = %d AND status = 'available'", s, s))
    con:query(string.format("INSERT IGNORE INTO peer_holds (id, event_id, session, seats, amount_cents, status, expires_at, created_at) " ..
      "SELECT hold_id, 'peer', 'peer', id, 5000, 'held', expires_at, NOW() FROM peer_seats WHERE id = %d AND hold_id = 'h%d'", s, s))
    con:query("COMMIT")
  elseif c == "skip" then
    -- skip-locked's idea in one autocommitted statement, with no hold row: the seat claimed
    -- with SKIP LOCKED (in a derived table, which MariaDB and MySQL lock through) and taken by
    -- the UPDATE around it
    con:query(string.format("UPDATE peer_seats SET status = 'held', hold_id = 'peer', expires_at = NOW() + INTERVAL 1 HOUR WHERE id IN " ..
      "(SELECT id FROM (SELECT id FROM peer_seats WHERE id = %d AND status = 'available' FOR UPDATE SKIP LOCKED) t)", sysbench.rand.uniform(1, sysbench.opt.rows)))
  elseif c == "hot" then
    local s = sysbench.rand.uniform(1, 10)
    con:query(string.format(hold, s))
    con:query(string.format("UPDATE peer_seats SET status = 'available', expires_at = NULL WHERE id = %d AND status = 'held'", s))
  elseif c == "ga-counter" then
    con:query("UPDATE peer_tier SET available = available - 1 WHERE id = 1 AND available > 0")
  else
    con:query("BEGIN")
    local rs = con:query("SELECT id FROM peer_units WHERE status = 'available' LIMIT 1 FOR UPDATE SKIP LOCKED")
    local row = rs:fetch_row()
    if row ~= nil then
      con:query("UPDATE peer_units SET status = 'held', hold_id = 'peer' WHERE id = " .. row[1])
    end
    con:query("COMMIT")
  end
end

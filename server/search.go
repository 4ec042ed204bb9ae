package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"stampede/internal/sqldb"
	"stampede/server/api"
	"stampede/strategies"
)

// Search. GET /events/search?q= finds events whose name, performer, venue or city contain every
// word of q, each word matching a whole word or the start of one ("tay swi" finds Taylor Swift),
// ranked by relevance, at most searchLimit of them. Words are the runs of letters and digits in
// q, lowercased.
//
// PostgreSQL matches the generated tsvector events.search_tsv (migration 005, GIN index) against
// a prefix query built from the words, or against plainto_tsquery of q itself, which parses q the
// way the column was parsed (so "AC/DC" finds AC/DC). MySQL matches the FULLTEXT index on
// events.search_text (migration 005: the four columns, lowercased, case-insensitive collation)
// in boolean mode ("+word*" for each word); words shorter than innodb_ft_min_token_size are not
// in that index and are matched with LIKE on the same column instead. Results are cached on the
// read path under "search:" + the normalised words.

// searchLimit bounds the events one search returns.
const searchLimit = 50

// searchMaxLen is the longest q accepted, in characters.
const searchMaxLen = 200

// mysqlMinToken is InnoDB's default innodb_ft_min_token_size.
const mysqlMinToken = 3

var searchWord = regexp.MustCompile(`[\p{L}\p{N}]+`)

// searchWords validates q and returns its lowercased words.
func searchWords(q string) ([]string, error) {
	if !utf8.ValidString(q) {
		return nil, api.Invalid("q", "q: not valid UTF-8")
	}
	n := utf8.RuneCountInString(q)
	if strings.TrimSpace(q) == "" || n > searchMaxLen {
		return nil, api.Invalid("q", "q: want 1..%d characters, got %d", searchMaxLen, n)
	}
	words := searchWord.FindAllString(strings.ToLower(q), -1)
	if len(words) == 0 {
		return nil, api.Invalid("q", "q: want at least one letter or digit")
	}
	return words, nil
}

// searchResult is the response of GET /events/search.
type searchResult struct {
	Events []strategies.Event `json:"events"`
}

// handleSearch is GET /events/search?q=.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	words, err := searchWords(q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	key := "search:" + strings.Join(words, " ")
	if raw := strings.TrimSpace(q); !sameWords(raw, words) {
		// plainto_tsquery sees the raw text: keep queries that differ in it apart.
		key += "\x00" + strings.ToLower(raw)
	}
	b, err := s.cached(r.Context(), key, func(ctx context.Context) (any, error) {
		evs, err := s.searchEvents(ctx, q, words)
		if err != nil {
			return nil, err
		}
		return searchResult{Events: evs}, nil
	})
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteRawJSON(w, http.StatusOK, b)
}

// sameWords reports whether raw is exactly its words separated by single spaces (ignoring case),
// the common case where the cache key needs nothing more.
func sameWords(raw string, words []string) bool {
	return strings.ToLower(raw) == strings.Join(words, " ")
}

// searchEvents runs a search on the database.
func (s *Server) searchEvents(ctx context.Context, q string, words []string) ([]strategies.Event, error) {
	db := s.cfg.DB
	if db == nil {
		return nil, fmt.Errorf("search events: no database configured")
	}
	var (
		query string
		args  []any
	)
	switch db.Dialect() {
	case sqldb.Postgres:
		prefix := make([]string, len(words))
		for i, w := range words {
			prefix[i] = w + ":*"
		}
		pq := strings.Join(prefix, " & ")
		query = `SELECT spec, seat_count, ga_capacity FROM events
WHERE search_tsv @@ to_tsquery('simple', ?) OR search_tsv @@ plainto_tsquery('simple', ?)
ORDER BY ts_rank(search_tsv, to_tsquery('simple', ?)) DESC, id LIMIT ` + fmt.Sprint(searchLimit)
		args = []any{pq, q, pq}
	case sqldb.MySQL:
		var match []string
		var where []string
		for _, w := range words {
			if utf8.RuneCountInString(w) >= mysqlMinToken {
				match = append(match, "+"+w+"*")
				continue
			}
			where = append(where, "search_text LIKE ?")
			args = append(args, "%"+w+"%")
		}
		order := "id"
		if len(match) > 0 {
			m := strings.Join(match, " ")
			where = append([]string{"MATCH (search_text) AGAINST (? IN BOOLEAN MODE)"}, where...)
			args = append([]any{m}, args...)
			order = "MATCH (search_text) AGAINST (? IN BOOLEAN MODE) DESC, id"
			args = append(args, m)
		}
		query = "SELECT spec, seat_count, ga_capacity FROM events WHERE " + strings.Join(where, " AND ") +
			" ORDER BY " + order + " LIMIT " + fmt.Sprint(searchLimit)
	default:
		return nil, fmt.Errorf("search events: unsupported database %s", db.Dialect())
	}
	out := []strategies.Event{}
	err := db.Query(ctx, "read", query, func(rows sqldb.Rows) error {
		for rows.Next() {
			var spec string
			var seats, ga int64
			if err := rows.Scan(&spec, &seats, &ga); err != nil {
				return err
			}
			var e strategies.Event
			if err := json.Unmarshal([]byte(spec), &e); err != nil {
				return fmt.Errorf("decode stored event spec: %w", err)
			}
			e.SeatCount, e.GACapacity = seats, ga
			out = append(out, e)
		}
		return nil
	}, args...)
	if err != nil {
		return nil, fmt.Errorf("search events: %w", err)
	}
	return out, nil
}

package waitingroom

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stampede/strategies"
)

func testSigner(tb testing.TB, secret string) *signer {
	tb.Helper()
	g, generated, err := newSigner([]byte(secret))
	if err != nil {
		tb.Fatalf("newSigner: %v", err)
	}
	if generated != (secret == "") {
		tb.Fatalf("newSigner(%q) generated = %v", secret, generated)
	}
	return g
}

func TestAdmissionTokenRefusals(t *testing.T) {
	g := testSigner(t, "secret-one")
	other := testSigner(t, "secret-two")
	issued := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ttl := 10 * time.Minute
	good := g.admissionToken("ev1", "s1", issued, ttl)
	now := issued.Add(time.Minute)

	// A token whose payload names another session but keeps the original signature.
	p, sig, _ := strings.Cut(good, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(p)
	tampered := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), "|s1|", "|s2|", 1))) + "." + sig

	tests := []struct {
		name    string
		token   string
		event   string
		session string
		now     time.Time
		want    error
	}{
		{name: "valid", token: good, event: "ev1", session: "s1", now: now},
		{name: "valid until the last millisecond", token: good, event: "ev1", session: "s1", now: issued.Add(ttl - time.Millisecond)},
		{name: "missing", token: "", event: "ev1", session: "s1", now: now, want: errTokenMissing},
		{name: "garbage", token: "not-a-token", event: "ev1", session: "s1", now: now, want: errTokenForged},
		{name: "bad base64", token: "!!!.???", event: "ev1", session: "s1", now: now, want: errTokenForged},
		{name: "tampered payload", token: tampered, event: "ev1", session: "s2", now: now, want: errTokenForged},
		{name: "signed with another secret", token: other.admissionToken("ev1", "s1", issued, ttl), event: "ev1", session: "s1", now: now, want: errTokenForged},
		{name: "a queue ticket is not a token", token: g.ticket(queueTicket{Event: "ev1", Session: "s1", Run: "r"}), event: "ev1", session: "s1", now: now, want: errTokenForged},
		{name: "truncated signature", token: good[:len(good)-4], event: "ev1", session: "s1", now: now, want: errTokenForged},
		{name: "another event", token: good, event: "ev2", session: "s1", now: now, want: errTokenOtherEvent},
		{name: "another session", token: good, event: "ev1", session: "s2", now: now, want: errTokenOtherSession},
		{name: "expired exactly at expiry", token: good, event: "ev1", session: "s1", now: issued.Add(ttl), want: errTokenExpired},
		{name: "expired long ago", token: good, event: "ev1", session: "s1", now: issued.Add(24 * time.Hour), want: errTokenExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := g.verifyAdmission(tc.token, tc.event, tc.session, tc.now)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("verifyAdmission = %v, want ok", err)
				}
				if a.Event != "ev1" || a.Session != "s1" || !a.Issued.Equal(issued) || !a.Expires.Equal(issued.Add(ttl)) {
					t.Fatalf("verifyAdmission = %+v, want ev1/s1 issued %v for %v", a, issued, ttl)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("verifyAdmission = %v, want %v", err, tc.want)
			}
			if !errors.Is(err, ErrNotAdmitted) {
				t.Fatalf("verifyAdmission = %v, which does not wrap ErrNotAdmitted", err)
			}
			if ae := testTable.Answer(err); ae.Status != 403 || ae.Code != "not_admitted" {
				t.Fatalf("error maps to %d %s, want 403 not_admitted", ae.Status, ae.Code)
			}
		})
	}
}

func TestAdmissionTokenIsDeterministic(t *testing.T) {
	// Every process with the same secret must hand out the same token for one admission record.
	a, b := testSigner(t, "shared"), testSigner(t, "shared")
	at := time.UnixMilli(1_750_000_000_123)
	if x, y := a.admissionToken("e", "s", at, time.Minute), b.admissionToken("e", "s", at, time.Minute); x != y {
		t.Fatalf("tokens differ for one admission: %q vs %q", x, y)
	}
}

func TestGeneratedSecretsDiffer(t *testing.T) {
	a, b := testSigner(t, ""), testSigner(t, "")
	tok := a.admissionToken("e", "s", time.Now(), time.Minute)
	if _, err := b.verifyAdmission(tok, "e", "s", time.Now()); !errors.Is(err, errTokenForged) {
		t.Fatalf("a token of one generated secret verified under another: %v", err)
	}
}

func TestQueueTicket(t *testing.T) {
	g := testSigner(t, "k")
	want := queueTicket{Event: "ev.1", Session: "sess:9", Run: "abc"}
	got, err := g.parseTicket(g.ticket(want))
	if err != nil || got != want {
		t.Fatalf("parseTicket(ticket(%+v)) = %+v, %v", want, got, err)
	}
	for _, bad := range []string{"", "x", g.admissionToken("ev.1", "sess:9", time.Now(), time.Minute), testSigner(t, "other").ticket(want)} {
		if _, err := g.parseTicket(bad); !errors.Is(err, ErrTicketNotFound) {
			t.Errorf("parseTicket(%q) = %v, want ErrTicketNotFound", bad, err)
		}
	}
}

func TestCheckAdmissionOnlyWhenWaitingRoomOn(t *testing.T) {
	s, err := New(Config{Deps: testDeps(prometheus.NewRegistry()), Secret: []byte("k")})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	off := strategies.Event{ID: "e"}
	if err := s.CheckAdmission(t.Context(), off, "s", ""); err != nil {
		t.Fatalf("CheckAdmission without a waiting room = %v, want nil", err)
	}
	disabled := strategies.Event{ID: "e", WaitingRoom: &strategies.WaitingRoom{Enabled: false, AdmitPerSecond: 5}}
	if err := s.CheckAdmission(t.Context(), disabled, "s", "junk"); err != nil {
		t.Fatalf("CheckAdmission with a disabled waiting room = %v, want nil", err)
	}
	on := strategies.Event{ID: "e", WaitingRoom: &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: 5}}
	if err := s.CheckAdmission(t.Context(), on, "s", ""); !errors.Is(err, errTokenMissing) {
		t.Fatalf("CheckAdmission without a token = %v, want errTokenMissing", err)
	}
	tok := s.sign.admissionToken("e", "s", s.now(), time.Minute)
	if err := s.CheckAdmission(t.Context(), on, "s", tok); err != nil {
		t.Fatalf("CheckAdmission with a valid token = %v", err)
	}
}

func FuzzVerifyAdmission(f *testing.F) {
	g, _, _ := newSigner([]byte("fuzz"))
	now := time.UnixMilli(1_750_000_000_000)
	f.Add(g.admissionToken("e", "s", now, time.Minute), "e", "s")
	f.Add("a.b", "e", "s")
	f.Add("", "", "")
	f.Add(g.ticket(queueTicket{Event: "e", Session: "s", Run: "r"}), "e", "s")
	f.Fuzz(func(t *testing.T, token, event, session string) {
		a, err := g.verifyAdmission(token, event, session, now)
		if err == nil && (a.Event != event || a.Session != session || !now.Before(a.Expires)) {
			t.Fatalf("accepted %q for %q/%q: %+v", token, event, session, a)
		}
		if err != nil && !errors.Is(err, ErrNotAdmitted) {
			t.Fatalf("error %v does not wrap ErrNotAdmitted", err)
		}
	})
}

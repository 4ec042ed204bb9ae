package tickets

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"stampede/strategies"
)

// Ticket is one seat's or one general-admission unit's ticket, as a booking's answer and the
// ledger carry it (api.yaml Ticket).
type Ticket struct {
	TicketID string `json:"ticket_id"`
	// Seat or Unit (with its Tier) is what the ticket admits to.
	Seat string `json:"seat,omitempty"`
	Unit string `json:"unit,omitempty"`
	Tier string `json:"tier,omitempty"`
	// Code is the signed ticket itself (what a QR code would carry).
	Code string `json:"code"`
}

// Claims are what a ticket says, signed: the event, the booking, the seat or unit, and the
// ticket's id.
type Claims struct {
	Version  int    `json:"v"`
	TicketID string `json:"id"`
	EventID  string `json:"e"`
	Booking  string `json:"b"`
	Seat     string `json:"s,omitempty"`
	Unit     string `json:"u,omitempty"`
	Tier     string `json:"t,omitempty"`
}

// Item is the seat, or the unit, the claims admit to.
func (c Claims) Item() string {
	if c.Seat != "" {
		return c.Seat
	}
	return c.Unit
}

// claimsVersion is the version of the claims this package signs and accepts.
const claimsVersion = 1

// Errors of Verify. Each is refused from the ticket alone, without the database.
var (
	// ErrForged: the ticket is malformed, truncated, or its signature does not hold (forged or
	// altered).
	ErrForged = errors.New("ticket forged or altered")
	// ErrWrongEvent: a genuine ticket of another event.
	ErrWrongEvent = errors.New("ticket of another event")
)

// maxCode bounds the length of a ticket code a gate looks at.
const maxCode = 1024

// Keys sign and verify tickets. A ticket code is three base64url parts joined by dots: the
// claims (JSON), their Ed25519 signature, and a 16-byte HMAC-SHA256 tag of both, keyed from
// the same seed. The Ed25519 signature lets anyone holding the public key verify a ticket
// offline; the tag lets the gate, which holds the seed, refuse a forgery for about a
// microsecond of CPU instead of the tens of microseconds an Ed25519 verification costs, so a
// flood of forgeries cannot buy much of the scanners' time. A ticket is accepted only when both
// hold. Keys are safe for concurrent use.
type Keys struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	mac  []byte
}

// NewKeys derives the keys from a 32-byte seed (strategies.Store.TicketSeed keeps one per
// database).
func NewKeys(seed []byte) (*Keys, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("ticket key seed: want %d bytes, got %d", ed25519.SeedSize, len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	m := hmac.New(sha256.New, seed)
	m.Write([]byte("stampede ticket tag"))
	return &Keys{priv: priv, pub: priv.Public().(ed25519.PublicKey), mac: m.Sum(nil)}, nil
}

// PublicKey is the key that verifies the tickets' Ed25519 signatures.
func (k *Keys) PublicKey() ed25519.PublicKey { return k.pub }

var b64 = base64.RawURLEncoding

// Sign returns the code of c (its Version set).
func (k *Keys) Sign(c Claims) string {
	c.Version = claimsVersion
	payload, _ := json.Marshal(c) // strings and an int: never fails
	sig := ed25519.Sign(k.priv, payload)
	return b64.EncodeToString(payload) + "." + b64.EncodeToString(sig) + "." + b64.EncodeToString(k.tag(payload, sig))
}

// tag is the HMAC tag of the claims and their signature: a change to either fails it.
func (k *Keys) tag(payload, sig []byte) []byte {
	m := hmac.New(sha256.New, k.mac)
	m.Write(payload)
	m.Write(sig)
	return m.Sum(nil)[:16]
}

// Verify checks a code and returns its claims: ErrForged when it is malformed, truncated or
// its tag or signature does not hold; ErrWrongEvent when it is genuine but for another event
// than eventID. It touches nothing but the code and the keys.
func (k *Keys) Verify(code, eventID string) (Claims, error) {
	payload, sig, tag, err := split(code)
	if err != nil {
		return Claims{}, err
	}
	if !hmac.Equal(tag, k.tag(payload, sig)) {
		return Claims{}, fmt.Errorf("%w: bad signature", ErrForged)
	}
	// The tag held, so we issued these claims: a ticket of another event, or of a form we no
	// longer read, is refused without the costlier Ed25519 check.
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil || c.Version != claimsVersion || c.TicketID == "" || c.Item() == "" {
		return Claims{}, fmt.Errorf("%w: claims of an unknown form", ErrForged)
	}
	if c.EventID != eventID {
		return Claims{}, fmt.Errorf("%w: ticket %s is for event %s", ErrWrongEvent, c.TicketID, c.EventID)
	}
	if !ed25519.Verify(k.pub, payload, sig) {
		return Claims{}, fmt.Errorf("%w: bad signature", ErrForged)
	}
	return c, nil
}

// VerifySignature checks only the Ed25519 signature of a code with a public key, as a
// verifier without the seed would, and returns the claims (ErrForged when it does not hold).
func VerifySignature(pub ed25519.PublicKey, code string) (Claims, error) {
	payload, sig, _, err := split(code)
	if err != nil {
		return Claims{}, err
	}
	if !ed25519.Verify(pub, payload, sig) {
		return Claims{}, fmt.Errorf("%w: bad signature", ErrForged)
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return Claims{}, fmt.Errorf("%w: claims of an unknown form", ErrForged)
	}
	return c, nil
}

// split decodes a code's three parts, checking their sizes.
func split(code string) (payload, sig, tag []byte, err error) {
	if len(code) > maxCode {
		return nil, nil, nil, fmt.Errorf("%w: longer than %d characters", ErrForged, maxCode)
	}
	b := []byte(code)
	i := bytes.IndexByte(b, '.')
	j := -1
	if i >= 0 {
		j = bytes.IndexByte(b[i+1:], '.')
	}
	if i <= 0 || j < 0 {
		return nil, nil, nil, fmt.Errorf("%w: malformed (want three parts)", ErrForged)
	}
	j += i + 1
	payload, err1 := b64.DecodeString(code[:i])
	sig, err2 := b64.DecodeString(code[i+1 : j])
	tag, err3 := b64.DecodeString(code[j+1:])
	if err1 != nil || err2 != nil || err3 != nil || len(sig) != ed25519.SignatureSize || len(tag) != 16 || len(payload) == 0 {
		return nil, nil, nil, fmt.Errorf("%w: malformed or truncated", ErrForged)
	}
	return payload, sig, tag, nil
}

// ID is the ticket id of one item of a booking: stable, so the same booking always gets the
// same tickets (Ed25519 signatures are deterministic, so the codes are the same too).
func ID(bookingID, item string) string {
	h := sha256.Sum256([]byte(bookingID + "\x00" + item))
	return "tk_" + hex.EncodeToString(h[:10])
}

// Issue returns the tickets of a booking: one per seat, and one per general-admission unit
// (its unit ids when the strategy has them, TIER#1..TIER#quantity otherwise).
func (k *Keys) Issue(b strategies.Booking) []Ticket {
	var out []Ticket
	for _, s := range b.Seats {
		c := Claims{TicketID: ID(b.ID, s), EventID: b.EventID, Booking: b.ID, Seat: s}
		out = append(out, Ticket{TicketID: c.TicketID, Seat: s, Code: k.Sign(c)})
	}
	if b.Tier != "" {
		units := b.Units
		if len(units) != b.Quantity {
			units = make([]string, b.Quantity)
			for i := range units {
				units[i] = b.Tier + "#" + strconv.Itoa(i+1)
			}
		}
		for _, u := range units {
			c := Claims{TicketID: ID(b.ID, u), EventID: b.EventID, Booking: b.ID, Unit: u, Tier: b.Tier}
			out = append(out, Ticket{TicketID: c.TicketID, Unit: u, Tier: b.Tier, Code: k.Sign(c)})
		}
	}
	return out
}

package overload

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// RetryAfter is the delay a refused request is told to wait before retrying (the Retry-After
// header, in whole seconds). The queue wait is short and the budget frees as fast as requests
// finish, so a second is long enough for the herd to thin and short enough for a buyer.
const RetryAfter = time.Second

// Wrap returns h under the budget as a request of class c: it runs once the request is let in
// (Acquire) and its slot is given back when it returns. A refused request is answered 503
// overloaded with Retry-After, through the server's error table; a client that went away while
// waiting gets what the table answers for its context's error.
func (b *Budget) Wrap(c Class, h http.Handler) http.Handler { return b.wrap(c, h, true) }

// Gate is Wrap for handlers that stay open long while doing little (the waiting room's event
// streams): a request is let in or refused as by Wrap, but gives its slot back as soon as it is
// let in, so open streams do not use up the budget.
func (b *Budget) Gate(c Class, h http.Handler) http.Handler { return b.wrap(c, h, false) }

// Enter is Wrap for a handler that checks what it can cheaply before it takes a slot (a hold's
// admission token): it lets the request in as a request of class c and returns the function
// that gives its slot back, to be called once when the request is done; or it answers the
// refusal as Wrap does and returns ok false.
func (b *Budget) Enter(w http.ResponseWriter, r *http.Request, c Class) (release func(), ok bool) {
	release, err := b.Acquire(r.Context(), c)
	if err != nil {
		b.refuse(w, r, err)
		return nil, false
	}
	return release, true
}

// wrap is Wrap, or Gate when hold is false. A request Wrap lets in carries its slot in its
// context, so that its handler can StepOut while it waits outside the server.
func (b *Budget) wrap(c Class, h http.Handler, hold bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := b.acquire(r.Context(), c)
		if err != nil {
			b.refuse(w, r, err)
			return
		}
		if !hold {
			s.release()
			h.ServeHTTP(w, r)
			return
		}
		defer s.release()
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), slotKey{}, s)))
	})
}

func (b *Budget) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrOverloaded) {
		w.Header().Set("Retry-After", strconv.Itoa(int(RetryAfter/time.Second)))
	}
	b.table.Write(w, r, err)
}

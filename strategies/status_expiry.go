package strategies

import "errors"

func newStatusExpiry(Deps) (Strategy, error) {
	return nil, errors.New("status_expiry: not implemented yet")
}

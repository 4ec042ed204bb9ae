package strategies

import "errors"

func newSkipLocked(Deps) (Strategy, error) {
	return nil, errors.New("skip_locked: not implemented yet")
}

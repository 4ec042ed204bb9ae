package strategies

import "errors"

func newPessimistic(Deps) (Strategy, error) {
	return nil, errors.New("pessimistic: not implemented yet")
}

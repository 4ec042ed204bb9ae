package strategies

import "errors"

func newNaive(Deps) (Strategy, error) { return nil, errors.New("naive: not implemented yet") }

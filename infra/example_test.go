package infra_test

import (
	"context"
	"errors"
	"fmt"

	"stampede/infra"
	"stampede/sut"
)

// A run against services it did not start: faults that need a process get ErrUnsupported.
func ExampleExternal() {
	s, err := infra.External(infra.Endpoints{
		Postgres: "postgres://app@db.internal:5432/tickets",
		Redis:    "redis://cache.internal:6379/0",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	fmt.Println(s.Postgres.Name(), s.Postgres.Addr())
	err = sut.Restart(context.Background(), s.Redis)
	fmt.Println(errors.Is(err, sut.ErrUnsupported), err)
	// Output:
	// postgres db.internal:5432
	// true restart redis at cache.internal:6379: not supported by this target
}

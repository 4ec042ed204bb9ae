//go:build race

package workloads

// raceEnabled is set when the tests run with the race detector, which makes every request
// several times dearer: rate tests scale their rates down by rateScale.
const raceEnabled = true

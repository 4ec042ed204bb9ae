package workloads

// RepeatSeed is the seed of repetition j (0-based) of a run whose seed is seed: seed itself
// for the first, so that a run repeated once is the run, then a splitmix64 mix of seed and j,
// so that the repetitions are independent of each other and the same on every machine:
//
//	z = seed + j*0x9e3779b97f4a7c15
//	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
//	z = (z ^ z>>27) * 0x94d049bb133111eb
//	seed_j = z ^ z>>31        (unsigned 64-bit arithmetic, read back as int64)
//
// `stampede run --repeat N` runs repetition j of every strategy x database with RepeatSeed(seed,
// j), and a search of `stampede capacity` its repeats at a load; two sides of a comparison
// that share a seed and a repeat count share their herds (common random numbers).
func RepeatSeed(seed int64, j int) int64 {
	if j == 0 {
		return seed
	}
	z := uint64(seed) + uint64(j)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return int64(z ^ (z >> 31))
}

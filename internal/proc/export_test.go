package proc

// StartRedisIn is StartRedis with its search directories, for the missing-binary test.
var StartRedisIn = startRedis

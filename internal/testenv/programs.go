package testenv

import "os"

// StartRedis starts a redis-server on a free loopback port for a program that is not a test (the
// bench command); stop kills it and removes its directory.
func StartRedis() (addr string, stop func(), err error) {
	s, err := startRedis()
	if err != nil {
		return "", nil, err
	}
	return s.addr, func() { s.Stop(); _ = os.RemoveAll(s.dir) }, nil
}

// StartDynamoDB starts dynalite (node_modules/.bin/dynalite: run `npm ci`) on a free loopback
// port for a program that is not a test; it returns the endpoint URL and a stop function.
func StartDynamoDB() (endpoint string, stop func(), err error) {
	p, url, err := startDynalite()
	if err != nil {
		return "", nil, err
	}
	return url, p.stop, nil
}

// FreePort returns a loopback TCP port that was free a moment ago (for a program that starts a
// server of its own).
func FreePort() (int, error) { return freePort() }

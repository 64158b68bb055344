// Package testenv starts the real servers the integration tests talk to — redis-server and
// dynalite (a DynamoDB API implementation from npm) — on free loopback ports, waits until they
// answer and stops them afterwards.
//
// Shared servers (Redis, DynamoDB) are started lazily, once per test binary, and stopped by
// Main, which a package's TestMain calls; they are also killed when the test binary dies.
// A dedicated Redis (NewRedis) belongs to one test, which may stop and restart it. Chromium
// finds the headless browser of the browser tests (which start it themselves with chromedp).
//
// When FEATUREGRAPH_INTEGRATION=1 (CI sets it) a server that is missing or fails to start fails
// the test, naming what to install; otherwise the test is skipped with that message.
package testenv

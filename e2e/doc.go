// Package e2e holds confchat's end-to-end tests: they build the real
// binary and drive several `confchat bot` processes over JSON-RPC on
// loopback, including kill -9, SIGSTOP and restarts. It has no code of
// its own outside tests.
package e2e

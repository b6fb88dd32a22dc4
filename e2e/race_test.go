//go:build race

package e2e

// raceBuild: the tests run with -race, so the bots are built with it too.
const raceBuild = true

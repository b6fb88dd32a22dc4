//go:build !race

package e2e

// raceBuild: the tests run without -race, and so do the bots.
const raceBuild = false

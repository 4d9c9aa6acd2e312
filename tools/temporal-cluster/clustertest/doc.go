// Package clustertest holds the end-to-end tests of temporal-cluster: they
// build the binary, run clusters of one and of several processes on free
// ports and their own databases, and run workflows on them with the SDK.
//
// The tests live in a package of their own that imports no server package,
// so `go test -race` instruments only the SDK and the tests, not the whole
// Temporal server (the cluster runs as the binary `go build` makes).
package clustertest

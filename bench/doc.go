// Package bench holds the VirMO benchmarks that need several packages at
// once: DM sessions against a real server, registry memory, lock fan-out
// and the agent's footprint. It has no code outside its tests, and CI does
// not run it. docs/benchmarks.md gives the commands and the last results.
package bench

// Package corpus locates the shared corpus of real public SyncML messages
// that tests decode. The corpus sits in the folder "shared/corpus" beside the
// repository checkout; VIRMO_CORPUS names another location.
package corpus

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the corpus directory (the one with messages/, fragments/ and
// ddf/). The test is skipped when it cannot be found, with the paths tried.
func Dir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("VIRMO_CORPUS")
	if dir == "" {
		dir = filepath.Join(repoRoot(), "..", "shared", "corpus")
	}
	if _, err := os.Stat(filepath.Join(dir, "messages")); err != nil {
		t.Skipf("message corpus not found at %s (set VIRMO_CORPUS): %v", dir, err)
	}
	return dir
}

// repoRoot returns the nearest parent of the working directory that has a
// go.mod, or the working directory itself.
func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if filepath.Dir(dir) == dir {
			return wd
		}
	}
}

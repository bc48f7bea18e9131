//go:build !linux

package main

import "golang.org/x/term"

// readPassword reads one line from the terminal fd without echo.
func readPassword(fd int) ([]byte, error) {
	return term.ReadPassword(fd)
}

package main

import (
	"errors"
	"io"

	"golang.org/x/sys/unix"
)

// readPassword reads one line from the terminal fd without echo. It
// returns io.EOF when Ctrl-D ends an empty line, where term.ReadPassword
// of golang.org/x/term v0.48.0 loops forever on the zero-byte read.
func readPassword(fd int) ([]byte, error) {
	saved, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	noEcho := *saved
	noEcho.Lflag &^= unix.ECHO
	noEcho.Lflag |= unix.ICANON | unix.ISIG
	noEcho.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &noEcho); err != nil {
		return nil, err
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, saved)

	var line []byte
	var buf [1]byte
	for {
		n, err := unix.Read(fd, buf[:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return line, err
		}
		if n == 0 {
			if len(line) > 0 {
				return line, nil
			}
			return nil, io.EOF
		}
		switch buf[0] {
		case '\n':
			return line, nil
		case '\r':
			// Ignored, as term.ReadPassword does: ICRNL turns Enter into '\n'.
		case '\b':
			if len(line) > 0 {
				line = line[:len(line)-1]
			}
		default:
			line = append(line, buf[0])
		}
	}
}

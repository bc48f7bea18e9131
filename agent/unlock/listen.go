package unlock

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"strconv"
	"time"
)

// Modes of the unlock socket: only the agent's user, or also the members
// of the group that ListenGroup is given.
const (
	socketMode      fs.FileMode = 0o600
	groupSocketMode fs.FileMode = 0o660
)

// Listen creates the unlock socket at path with mode 0600, so only the
// agent's user can connect. It is ListenGroup without a group.
func Listen(path string) (*net.UnixListener, error) {
	return ListenGroup(path, "")
}

// ListenGroup creates the unlock socket at path. With group empty the
// socket has mode 0600. Otherwise group, a group name or a numeric group
// ID, becomes the socket's group and the mode is 0660, so the members of
// that group can unlock too. Changing the group needs root, or an agent
// user that belongs to the group.
//
// ListenGroup first removes a stale socket left by an agent that died. A
// socket that another process still accepts on, or a file that is not a
// socket, is an error.
func ListenGroup(path, group string) (*net.UnixListener, error) {
	gid := -1
	if group != "" {
		var err error
		if gid, err = LookupGroup(group); err != nil {
			return nil, err
		}
	}
	if err := removeStaleSocket(path); err != nil {
		return nil, err
	}

	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on unlock socket %s: %w", path, err)
	}
	// NOTE: the socket exists with the umask's mode until this chmod; the
	// agent keeps it inside its 0700 data directory by default.
	mode := socketMode
	if gid >= 0 {
		// The group changes before the mode, so no other group ever gets
		// access.
		if err := os.Chown(path, -1, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("set group of unlock socket %s to %s: %w "+
				"(run the agent as root or as a member of that group)", path, group, err)
		}
		mode = groupSocketMode
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("set mode of unlock socket %s: %w", path, err)
	}
	return ln, nil
}

// LookupGroup returns the numeric ID of group, a group name or a decimal
// group ID. A numeric ID need not exist in the group database.
func LookupGroup(group string) (int, error) {
	if id, err := strconv.Atoi(group); err == nil {
		if id < 0 {
			return 0, fmt.Errorf("invalid socket group %q: a group ID must not be negative", group)
		}
		return id, nil
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return 0, fmt.Errorf("invalid socket group %q: %w; give an existing group name "+
			"or a numeric group ID", group, err)
	}
	id, err := strconv.Atoi(g.Gid)
	if err != nil {
		return 0, fmt.Errorf("invalid socket group %q: group ID %q is not a number",
			group, g.Gid)
	}
	return id, nil
}

// removeStaleSocket removes a socket at path that no process accepts on.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("check unlock socket %s: %w", path, err)
	case fi.Mode().Type() != fs.ModeSocket:
		return fmt.Errorf("unlock socket path %s exists and is not a socket; "+
			"remove it or choose another path", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("unlock socket %s is in use by another process; "+
			"stop the other agent or choose another path", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove stale unlock socket %s: %w", path, err)
	}
	return nil
}

package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// devEnrollment is the content of DATA/agent/enrolled, the marker of dev
// mode's local agent enrollment. Older versions wrote only a timestamp, so
// a marker that is not JSON counts as an enrollment with an unknown server
// URL and DevID.
type devEnrollment struct {
	ServerURL  string    `json:"server_url"`
	DevID      string    `json:"devid"`
	Auth       string    `json:"auth"`
	EnrolledAt time.Time `json:"enrolled_at"`

	path string
	// reenrolled is empty when the agent was not enrolled again, and
	// otherwise the reason it was, for the banner.
	reenrolled string
}

// enrollDevAgent enrolls the local agent on the first run and again
// whenever the server URL differs from the one in the marker, for example
// after a restart with another --listen. It also enrolls again when auth,
// the --auth flag or "" when not given, differs from the enrolled
// credential type. The agent keeps its DevID, so the server keeps its
// device ID and VMs.
func enrollDevAgent(ctx context.Context, running *runningServer, agentDir, caFile,
	auth string) (*devEnrollment, error) {
	marker := &devEnrollment{path: filepath.Join(agentDir, "enrolled")}
	data, err := os.ReadFile(marker.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		marker.DevID = newDevID()
		marker.Auth = cmp.Or(auth, "md5")
	case err != nil:
		return nil, fmt.Errorf("read the enrollment marker: %w", err)
	default:
		// A marker of an older version does not parse, and its empty DevID
		// makes Enroll keep the one in the agent's state.
		_ = json.Unmarshal(data, marker)
		switch {
		case auth != "" && auth != marker.Auth:
			marker.reenrolled = fmt.Sprintf("--auth %s differs from the enrolled %s",
				auth, cmp.Or(marker.Auth, "credential type"))
			marker.Auth = auth
		case marker.ServerURL != running.baseURL:
			marker.reenrolled = "The server URL changed to " + running.baseURL
			// A marker of an older version names no credential type.
			marker.Auth = cmp.Or(marker.Auth, "md5")
		default:
			return marker, nil
		}
		if marker.Auth == basicAuth && !strings.HasPrefix(running.baseURL, "https://") {
			return nil, fmt.Errorf("%s was enrolled with --auth basic, which needs HTTPS: "+
				"run with --tls, or pass --auth md5 or --auth hmac", filepath.Dir(agentDir))
		}
	}

	if err := os.MkdirAll(agentDir, 0o700); err != nil {
		return nil, fmt.Errorf("create agent directory: %w", err)
	}
	token, err := running.srv.CreateEnrollToken(ctx, "virmo dev", 10*time.Minute)
	if err != nil {
		return nil, fmt.Errorf("create enrollment token: %w", err)
	}
	err = enrollAgent(ctx, &enrollOptions{
		dataDir:   agentDir,
		serverURL: running.baseURL,
		token:     token,
		devID:     marker.DevID,
		name:      "dev-device",
		tls:       tlsClientOptions{caFile: caFile, caSource: "--ca"},
		auth:      marker.Auth,
	})
	if err != nil {
		return nil, fmt.Errorf("enroll the local agent: %w", err)
	}
	marker.ServerURL = running.baseURL
	marker.EnrolledAt = time.Now().UTC()
	return marker, marker.write()
}

// recordDevID stores the DevID the agent reports, which a marker of an
// older version lacks.
func (m *devEnrollment) recordDevID(devID string) error {
	if m.DevID == devID {
		return nil
	}
	m.DevID = devID
	return m.write()
}

func (m *devEnrollment) write() error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(m.path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write the enrollment marker: %w", err)
	}
	return nil
}

// basicAuth is the --auth value of HTTP Basic credentials.
const basicAuth = "basic"

// newDevID returns a random urn:uuid (version 4) DevID.
func newDevID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

package agent

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/mo/devinfo"
	"github.com/virmo/virmo/mo/dmacc"
)

// maxEnrollResponse bounds the enrollment response the agent reads.
const maxEnrollResponse = 64 << 10

// EnrollConfig configures Enroll. DataDir, ServerURL and Token are
// required.
type EnrollConfig struct {
	// DataDir is the agent's state directory, as in Config.
	DataDir string
	// ServerURL is the server's base URL, for example
	// http://127.0.0.1:8080; the request goes to ServerURL/api/v1/enroll.
	ServerURL string
	// Token is the one-time enrollment token from the operator.
	Token string
	// DevID is the device's DevInfo/DevId; empty means a random urn:uuid
	// created once and kept in the state.
	DevID string
	// Name is the display name of the device on the server.
	Name string
	// Auth is the credential type to enroll with: AuthMD5 (also for ""),
	// AuthHMAC or AuthBasic. It is stored in DMAcc AAuthPref.
	Auth string
	// HTTPClient sends the request; nil means a client with a 60 s
	// timeout.
	HTTPClient *http.Client
}

// Enroll exchanges a one-time enrollment token for a DM account
// (POST {ServerURL}/api/v1/enroll) and stores the account in DMAcc in the
// agent's state, so the next New finds it. An account of the same server
// is replaced. An explicit DevID is kept in the state and used as
// DevInfo/DevId from then on. Enroll fails while an agent runs on
// DataDir.
func Enroll(ctx context.Context, cfg EnrollConfig) error {
	if err := checkEnrollConfig(cfg); err != nil {
		return err
	}
	if err := checkServerURL(cfg.ServerURL); err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: httpTimeout}
	}
	auth, err := checkAuth(cfg.Auth)
	if err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	cfg.Auth = auth
	// Check before the request, which would use up the token.
	if auth == AuthBasic {
		if err := checkBasicURL(cfg.ServerURL); err != nil {
			return fmt.Errorf("enroll: %w", err)
		}
	}

	st, lock, err := openDataDir(cfg.DataDir, slog.Default())
	if err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	defer lock.Close()
	defer st.close()

	devID := cfg.DevID
	if devID != "" {
		if err := st.setSetting(settingDevID, devID); err != nil {
			return fmt.Errorf("enroll: %w", err)
		}
	} else if devID, err = deviceID(st, ""); err != nil {
		return fmt.Errorf("enroll: %w", err)
	}

	enr, err := requestEnrollment(ctx, cfg, devID)
	if err != nil {
		return err
	}
	acc, err := enrollmentAccount(enr)
	if err != nil {
		return err
	}
	// A server older than the auth field returns none and uses md5.
	if got := cmp.Or(enr.Auth, AuthMD5); got != cfg.Auth {
		return fmt.Errorf("enroll: server enrolled the device with auth %s, not %s; "+
			"upgrade the server or enroll with auth %s", got, cfg.Auth, got)
	}
	if cfg.Auth == AuthBasic {
		if err := checkBasicURL(acc.ServerURL); err != nil {
			return fmt.Errorf("enroll: %w", err)
		}
	}

	tree, err := baseTree(st, st.persist, devInfo(devinfo.Info{}, devID))
	if err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	err = tree.Update(func(tx *dmtree.Tx) error {
		if err := dmacc.Provision(tx, acc); err != nil {
			return err
		}
		return setAuthPref(tx, cfg.Auth)
	})
	if err != nil {
		return fmt.Errorf("enroll: store the DM account: %w", err)
	}
	return nil
}

// checkEnrollConfig returns an error naming the required values cfg lacks.
func checkEnrollConfig(cfg EnrollConfig) error {
	var missing []string
	if cfg.DataDir == "" {
		missing = append(missing, "data directory")
	}
	if cfg.ServerURL == "" {
		missing = append(missing, "server URL")
	}
	if cfg.Token == "" {
		missing = append(missing, "enrollment token")
	}
	if len(missing) > 0 {
		return fmt.Errorf("enroll: missing %s", strings.Join(missing, ", "))
	}
	return nil
}

// requestEnrollment sends the enrollment request and decodes the response.
func requestEnrollment(ctx context.Context, cfg EnrollConfig, devID string) (api.Enrollment, error) {
	body, err := json.Marshal(api.EnrollRequest{Token: cfg.Token, DevID: devID, Name: cfg.Name,
		Auth: cfg.Auth})
	if err != nil {
		return api.Enrollment{}, fmt.Errorf("enroll: encode request: %w", err)
	}
	url := strings.TrimRight(cfg.ServerURL, "/") + "/api/v1/enroll"

	ctx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return api.Enrollment{}, fmt.Errorf("enroll: build request to %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")

	resp, err := cfg.HTTPClient.Do(req)
	if err != nil {
		return api.Enrollment{}, fmt.Errorf("enroll: send request to %s: %w", url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxEnrollResponse))
	if err != nil {
		return api.Enrollment{}, fmt.Errorf("enroll: read response from %s: %w", url, err)
	}

	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		var apiErr struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &apiErr) == nil && apiErr.Error != "" {
			return api.Enrollment{}, fmt.Errorf("enroll: server rejected the request (%s): %s",
				resp.Status, apiErr.Error)
		}
		return api.Enrollment{}, fmt.Errorf("enroll: server %s returned HTTP %s", url, resp.Status)
	}

	var enr api.Enrollment
	if err := json.Unmarshal(data, &enr); err != nil {
		return api.Enrollment{}, fmt.Errorf("enroll: invalid response from %s: %w", url, err)
	}
	return enr, nil
}

// enrollmentAccount checks an enrollment response and turns it into a
// DMAcc account. Its errors never quote the passwords or nonces.
func enrollmentAccount(enr api.Enrollment) (dmacc.Account, error) {
	var missing []string
	fields := []struct{ name, value string }{
		{"server_id", enr.ServerID},
		{"server_url", enr.ServerURL},
		{"client_user", enr.ClientUser},
		{"client_password", enr.ClientPassword},
		{"server_password", enr.ServerPassword},
	}
	for _, f := range fields {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return dmacc.Account{}, fmt.Errorf("enroll: response lacks %s", strings.Join(missing, ", "))
	}
	if err := checkServerURL(enr.ServerURL); err != nil {
		return dmacc.Account{}, fmt.Errorf("enroll: response server_url: %w", err)
	}
	clientNonce, err := base64.StdEncoding.DecodeString(enr.ClientNonce)
	if err != nil {
		return dmacc.Account{}, errors.New("enroll: response client_nonce is not valid base64")
	}
	serverNonce, err := base64.StdEncoding.DecodeString(enr.ServerNonce)
	if err != nil {
		return dmacc.Account{}, errors.New("enroll: response server_nonce is not valid base64")
	}

	return dmacc.Account{
		ServerID:       enr.ServerID,
		Name:           enr.ServerID,
		ServerURL:      enr.ServerURL,
		ClientUser:     enr.ClientUser,
		ClientPassword: enr.ClientPassword,
		ServerUser:     enr.ServerID,
		ServerPassword: enr.ServerPassword,
		ClientNonce:    clientNonce,
		ServerNonce:    serverNonce,
	}, nil
}

// Package apiclient is a Go client of the VirMO REST API (docs/api.md).
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/virmo/virmo/api"
)

// maxResponseBytes caps the size of a response body the client reads.
const maxResponseBytes = 16 << 20

// Error is an error response of the server: its HTTP status code and the
// message of its {"error": ...} body.
type Error struct {
	StatusCode int
	Message    string
}

// Error returns the server's message with the status code.
func (e *Error) Error() string {
	return fmt.Sprintf("server returned %d: %s", e.StatusCode, e.Message)
}

// Client calls one VirMO Server with an admin bearer token.
type Client struct {
	baseURL string
	token   string
	http    *http.Client
}

// New returns a client of the server at baseURL (for example
// http://127.0.0.1:8080). A nil httpClient means http.DefaultClient.
func New(baseURL, token string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &Client{
		baseURL: strings.TrimRight(baseURL, "/"),
		token:   token,
		http:    httpClient,
	}
}

// ListDevices returns every enrolled device.
func (c *Client) ListDevices(ctx context.Context) ([]api.Device, error) {
	var out []api.Device
	err := c.do(ctx, http.MethodGet, "/devices", nil, &out, true)
	return out, err
}

// GetDevice returns one device.
func (c *Client) GetDevice(ctx context.Context, id string) (api.Device, error) {
	var out api.Device
	err := c.do(ctx, http.MethodGet, "/devices/"+url.PathEscape(id), nil, &out, true)
	return out, err
}

// ListVMs returns the VMs of one device, or of every device when device
// is empty.
func (c *Client) ListVMs(ctx context.Context, device string) ([]api.VM, error) {
	path := "/vms"
	if device != "" {
		path += "?device=" + url.QueryEscape(device)
	}
	var out []api.VM
	err := c.do(ctx, http.MethodGet, path, nil, &out, true)
	return out, err
}

// GetVM returns one VM of a device.
func (c *Client) GetVM(ctx context.Context, device, vm string) (api.VM, error) {
	var out api.VM
	err := c.do(ctx, http.MethodGet, vmPath(device, vm, ""), nil, &out, true)
	return out, err
}

// Lock requests a lock of a VM. The response carries the unlock secret
// only for the request that created a lock with user unlock.
func (c *Client) Lock(ctx context.Context, device, vm string, req api.LockRequest) (api.LockResponse, error) {
	var out api.LockResponse
	err := c.do(ctx, http.MethodPost, vmPath(device, vm, "/lock"), req, &out, true)
	return out, err
}

// Unlock requests an unlock of a VM.
func (c *Client) Unlock(ctx context.Context, device, vm string) (api.IntentResponse, error) {
	var out api.IntentResponse
	err := c.do(ctx, http.MethodPost, vmPath(device, vm, "/unlock"), api.OperationRequest{}, &out, true)
	return out, err
}

// Operation requests start, stop, pause or resume of a VM.
func (c *Client) Operation(ctx context.Context, device, vm, op string) (api.IntentResponse, error) {
	var out api.IntentResponse
	switch op {
	case "start", "stop", "pause", "resume":
	default:
		return out, fmt.Errorf("invalid operation %q: use start, stop, pause or resume", op)
	}
	err := c.do(ctx, http.MethodPost, vmPath(device, vm, "/"+op), api.OperationRequest{}, &out, true)
	return out, err
}

// RevealSecret returns the unlock secret of a locked VM. The server
// records the call and its reason in the audit log.
func (c *Client) RevealSecret(ctx context.Context, device, vm string, req api.RevealRequest) (api.RevealResponse, error) {
	var out api.RevealResponse
	err := c.do(ctx, http.MethodPost, vmPath(device, vm, "/secret:reveal"), req, &out, true)
	return out, err
}

// GetIntent returns one intent.
func (c *Client) GetIntent(ctx context.Context, id string) (api.Intent, error) {
	var out api.Intent
	err := c.do(ctx, http.MethodGet, "/intents/"+url.PathEscape(id), nil, &out, true)
	return out, err
}

// ListCommands returns the command queue of a device, oldest first.
func (c *Client) ListCommands(ctx context.Context, device string) ([]api.Command, error) {
	var out []api.Command
	path := "/devices/" + url.PathEscape(device) + "/commands"
	err := c.do(ctx, http.MethodGet, path, nil, &out, true)
	return out, err
}

// CreateEnrollToken creates a one-time enrollment token valid for ttl
// (whole seconds; zero means the server's default).
func (c *Client) CreateEnrollToken(ctx context.Context, note string, ttl time.Duration) (api.EnrollTokenResponse, error) {
	req := api.EnrollTokenRequest{Note: note, TTLSeconds: int64(ttl / time.Second)}
	var out api.EnrollTokenResponse
	err := c.do(ctx, http.MethodPost, "/enrollment-tokens", req, &out, true)
	return out, err
}

// Enroll exchanges a one-time enrollment token for a DM account. It sends
// no bearer token.
func (c *Client) Enroll(ctx context.Context, req api.EnrollRequest) (api.Enrollment, error) {
	var out api.Enrollment
	err := c.do(ctx, http.MethodPost, "/enroll", req, &out, false)
	return out, err
}

// Audit returns at most limit audit entries with Seq greater than after,
// oldest first. A limit of 0 means the server's default.
func (c *Client) Audit(ctx context.Context, after int64, limit int) ([]api.AuditEntry, error) {
	query := url.Values{}
	query.Set("after", strconv.FormatInt(after, 10))
	if limit > 0 {
		query.Set("limit", strconv.Itoa(limit))
	}
	var out []api.AuditEntry
	err := c.do(ctx, http.MethodGet, "/audit?"+query.Encode(), nil, &out, true)
	return out, err
}

func vmPath(device, vm, suffix string) string {
	return "/devices/" + url.PathEscape(device) + "/vms/" + url.PathEscape(vm) + suffix
}

// do sends one request to /api/v1+path and decodes a 2xx response into out.
func (c *Client) do(ctx context.Context, method, path string, body, out any, bearer bool) error {
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		reader = bytes.NewReader(data)
	}

	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+"/api/v1"+path, reader)
	if err != nil {
		return fmt.Errorf("build request %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if bearer {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("read response of %s %s: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeError(resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode response of %s %s: %w", method, path, err)
	}
	return nil
}

// decodeError builds an *Error from an error response, falling back to
// the start of the body when it is not the API's JSON error.
func decodeError(status int, data []byte) error {
	var body api.Error
	if err := json.Unmarshal(data, &body); err == nil && body.Error != "" {
		return &Error{StatusCode: status, Message: body.Error}
	}

	message := strings.TrimSpace(string(data))
	if len(message) > 200 {
		message = message[:200]
	}
	if message == "" {
		message = http.StatusText(status)
	}
	return &Error{StatusCode: status, Message: message}
}

package tlsutil

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// startDevServer serves HTTPS on loopback with a certificate from
// GenerateDev and returns its URL and the CA file.
func startDevServer(t *testing.T, clientCAFile string, requireClientCert bool) (string, DevFiles) {
	t.Helper()
	files, err := GenerateDev(t.TempDir(), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if clientCAFile == "self" {
		clientCAFile = files.CACert
	}
	cfg, err := ServerConfig(files.ServerCert, files.ServerKey, clientCAFile, requireClientCert)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) > 0 {
			w.Write([]byte("client-cert"))
		}
	}))
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL, files
}

func get(t *testing.T, client *http.Client, url string) (string, error) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	return body.String(), nil
}

func TestClientVerifiesServerAgainstCA(t *testing.T) {
	url, files := startDevServer(t, "", false)
	_, otherFiles := startDevServer(t, "", false)

	cases := []struct {
		name    string
		caFile  string
		wantErr bool
	}{
		{"its own CA", files.CACert, false},
		{"another CA", otherFiles.CACert, true},
		{"system roots", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client, err := NewHTTPClient(ClientOptions{CAFile: tc.caFile})
			if err != nil {
				t.Fatal(err)
			}
			_, err = get(t, client, url)
			if (err != nil) != tc.wantErr {
				t.Fatalf("GET over TLS: err = %v, want error %t", err, tc.wantErr)
			}
		})
	}
}

func TestClientCertificateRequired(t *testing.T) {
	url, files := startDevServer(t, "self", true)

	anonymous, err := NewHTTPClient(ClientOptions{CAFile: files.CACert})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get(t, anonymous, url); err == nil {
		t.Fatal("GET without a client certificate succeeded, want a TLS error")
	}

	// The dev server certificate is not a client certificate, so build
	// a client certificate from a second GenerateDev run signed by
	// another CA: it must be rejected too.
	_, other := startDevServer(t, "", false)
	withForeignCert, err := NewHTTPClient(ClientOptions{CAFile: files.CACert,
		CertFile: other.ServerCert, KeyFile: other.ServerKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get(t, withForeignCert, url); err == nil {
		t.Fatal("GET with a certificate from another CA succeeded, want a TLS error")
	}
}

func TestGenerateDevReusesFiles(t *testing.T) {
	dir := t.TempDir()
	first, err := GenerateDev(dir, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(first.CACert)
	second, err := GenerateDev(dir, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(second.CACert)
	if !bytes.Equal(before, after) {
		t.Error("second GenerateDev replaced ca.pem, want it reused")
	}
	info, err := os.Stat(filepath.Join(dir, "server-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("server-key.pem mode = %v, want 0600", info.Mode().Perm())
	}
}

func TestConfigErrors(t *testing.T) {
	files, err := GenerateDev(t.TempDir(), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ServerConfig(files.ServerCert, files.ServerKey, "", true); err == nil {
		t.Error("ServerConfig requiring client certificates without a CA succeeded")
	}
	if _, err := ServerConfig("missing.pem", files.ServerKey, "", false); err == nil {
		t.Error("ServerConfig with a missing certificate succeeded")
	}
	if _, err := NewHTTPClient(ClientOptions{CertFile: files.ServerCert}); err == nil {
		t.Error("NewHTTPClient with a certificate but no key succeeded")
	}
	if _, err := LoadCAPool(files.ServerKey); err == nil {
		t.Error("LoadCAPool of a key file succeeded")
	}
}

func TestGenerateClientAccepted(t *testing.T) {
	client, err := GenerateClient(t.TempDir(), "operator")
	if err != nil {
		t.Fatal(err)
	}
	url, files := startDevServer(t, client.CACert, true)

	withCert, err := NewHTTPClient(ClientOptions{CAFile: files.CACert,
		CertFile: client.Cert, KeyFile: client.Key})
	if err != nil {
		t.Fatal(err)
	}
	body, err := get(t, withCert, url)
	if err != nil {
		t.Fatalf("GET with the generated client certificate: %v", err)
	}
	if body != "client-cert" {
		t.Errorf("server saw no client certificate, body %q", body)
	}

	info, err := os.Stat(client.Key)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("client-key.pem mode = %v, want 0600", info.Mode().Perm())
	}
}

// Package tlsutil builds the TLS configurations of the virmo command: a
// self-signed CA and server certificate for dev mode, the server's listener
// configuration and the HTTP clients of operators and agents.
package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// DevFiles are the files GenerateDev writes.
type DevFiles struct {
	CACert     string
	ServerCert string
	ServerKey  string
}

// GenerateDev creates, in dir, a CA (ca.pem) and a server certificate signed
// by it (server.pem, server-key.pem) for the given host names and IP
// addresses, valid for one year. Existing files are reused, so the CA stays
// the same across restarts.
func GenerateDev(dir string, hosts []string) (DevFiles, error) {
	files := DevFiles{
		CACert:     filepath.Join(dir, "ca.pem"),
		ServerCert: filepath.Join(dir, "server.pem"),
		ServerKey:  filepath.Join(dir, "server-key.pem"),
	}
	if allExist(files.CACert, files.ServerCert, files.ServerKey) {
		return files, nil
	}

	now := time.Now()
	caKey, caCert, caDER, err := newCA("VirMO dev CA", now)
	if err != nil {
		return files, err
	}

	serverKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return files, fmt.Errorf("generate server key: %w", err)
	}
	serverTemplate := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "VirMO dev server"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			serverTemplate.IPAddresses = append(serverTemplate.IPAddresses, ip)
		} else {
			serverTemplate.DNSNames = append(serverTemplate.DNSNames, h)
		}
	}
	serverDER, err := x509.CreateCertificate(rand.Reader, serverTemplate, caCert, &serverKey.PublicKey, caKey)
	if err != nil {
		return files, fmt.Errorf("create server certificate: %w", err)
	}
	serverKeyDER, err := x509.MarshalECPrivateKey(serverKey)
	if err != nil {
		return files, err
	}

	if err := writePEM(files.CACert, "CERTIFICATE", caDER, 0o644); err != nil {
		return files, err
	}
	if err := writePEM(files.ServerCert, "CERTIFICATE", serverDER, 0o644); err != nil {
		return files, err
	}
	return files, writePEM(files.ServerKey, "EC PRIVATE KEY", serverKeyDER, 0o600)
}

// newCA creates a self-signed CA certificate valid for one year from now.
func newCA(commonName string, now time.Time) (*ecdsa.PrivateKey, *x509.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("generate CA key: %w", err)
	}
	template := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	return key, cert, der, nil
}

// ClientFiles are the files GenerateClient writes.
type ClientFiles struct {
	// CACert is the CA that signed Cert, for the server's --tls-client-ca.
	CACert string
	Cert   string
	Key    string
}

// GenerateClient creates, in dir, a client CA (client-ca.pem) and a
// client certificate signed by it (client.pem, client-key.pem) with the
// given common name, valid for one year. Existing files are overwritten.
func GenerateClient(dir, commonName string) (ClientFiles, error) {
	files := ClientFiles{
		CACert: filepath.Join(dir, "client-ca.pem"),
		Cert:   filepath.Join(dir, "client.pem"),
		Key:    filepath.Join(dir, "client-key.pem"),
	}
	now := time.Now()
	caKey, caCert, caDER, err := newCA("VirMO client CA", now)
	if err != nil {
		return files, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return files, fmt.Errorf("generate client key: %w", err)
	}
	template := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, caCert, &key.PublicKey, caKey)
	if err != nil {
		return files, fmt.Errorf("create client certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return files, err
	}

	if err := writePEM(files.CACert, "CERTIFICATE", caDER, 0o644); err != nil {
		return files, err
	}
	if err := writePEM(files.Cert, "CERTIFICATE", der, 0o644); err != nil {
		return files, err
	}
	return files, writePEM(files.Key, "EC PRIVATE KEY", keyDER, 0o600)
}

// ServerConfig returns the listener configuration for a certificate and key
// file. With clientCAFile set, clients may present a certificate, which is
// then verified against that CA. requireClientCert makes one mandatory.
func ServerConfig(certFile, keyFile, clientCAFile string, requireClientCert bool) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if clientCAFile == "" {
		if requireClientCert {
			return nil, errors.New("requiring client certificates needs a client CA file to verify them")
		}
		return cfg, nil
	}
	pool, err := LoadCAPool(clientCAFile)
	if err != nil {
		return nil, err
	}
	cfg.ClientCAs = pool
	cfg.ClientAuth = tls.VerifyClientCertIfGiven
	if requireClientCert {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// LoadCAPool reads PEM certificates from file into a pool.
func LoadCAPool(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("CA file %s contains no PEM certificate", file)
	}
	return pool, nil
}

// ClientOptions selects how an HTTP client verifies and identifies itself.
type ClientOptions struct {
	// CAFile, when set, is the only CA the client trusts for the server.
	CAFile string
	// CertFile and KeyFile, when set, are the client certificate and key.
	CertFile string
	KeyFile  string
	Timeout  time.Duration
}

// NewHTTPClient returns an HTTP client for the options. With no CA file the
// system roots are used.
func NewHTTPClient(opts ClientOptions) (*http.Client, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.CAFile != "" {
		pool, err := LoadCAPool(opts.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if (opts.CertFile == "") != (opts.KeyFile == "") {
		return nil, errors.New("a client certificate needs both the certificate file and the key file")
	}
	if opts.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(opts.CertFile, opts.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate %s and key %s: %w", opts.CertFile, opts.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = cfg
	// The agent and the CLI only ever talk to the server they were given, so
	// no proxy from the environment is used.
	transport.Proxy = nil
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	return &http.Client{Transport: transport, Timeout: timeout}, nil
}

func writePEM(path, blockType string, der []byte, mode os.FileMode) error {
	data := pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func allExist(paths ...string) bool {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

func randomSerial() *big.Int {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return serial
}

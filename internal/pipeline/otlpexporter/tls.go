package otlpexporter

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSConfig configures the TLS client side of an exporter. The zero value
// verifies the server against the system's root certificates.
type TLSConfig struct {
	// Insecure sends OTLP/gRPC in plaintext, without TLS. OTLP/HTTP ignores
	// it: the URL's scheme (http or https) decides.
	Insecure bool
	// InsecureSkipVerify accepts any server certificate. Only for tests.
	InsecureSkipVerify bool
	// CAFile is a PEM file of the certificate authorities to verify the
	// server with, instead of the system's roots.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// mutual TLS. Both or neither must be set.
	CertFile string
	KeyFile  string
}

// Load reads the files c names and returns the *tls.Config to connect with.
// Its errors name the file at fault. The system's roots are used when
// CAFile is empty; they are loaded at the first handshake, not here.
func (c TLSConfig) Load() (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: c.InsecureSkipVerify,
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls: read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls: CA file %s holds no PEM certificate", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	switch {
	case c.CertFile != "" && c.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: load client certificate %s with key %s: %w", c.CertFile, c.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	case c.CertFile != "":
		return nil, fmt.Errorf("tls: client certificate %s has no key file: set KeyFile too", c.CertFile)
	case c.KeyFile != "":
		return nil, fmt.Errorf("tls: key file %s has no client certificate: set CertFile too", c.KeyFile)
	}
	return cfg, nil
}

// isCertificateError reports whether err is a failure to verify the
// server's certificate: a configuration problem that retrying will not fix.
func isCertificateError(err error) bool {
	var verr *tls.CertificateVerificationError
	var uerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	var cerr x509.CertificateInvalidError
	return errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &cerr)
}

package image

// Credentials from a pod's imagePullSecrets (issue 11): the auths of a
// kubernetes.io/dockerconfigjson Secret ({"auths": {"reg": {...}}}) or of
// a legacy kubernetes.io/dockercfg one ({"reg": {...}}), matched to an
// image as the kubelet's keyring matches them (pkg/credentialprovider):
// a key is a registry host[:port], with an optional repository path
// prefix, with or without a scheme and Docker Hub's /v1/ or /v2/;
// index.docker.io, registry-1.docker.io and docker.io are one registry;
// the longest matching key wins. They go to go.podman.io/image as the
// pull's SystemContext.DockerAuthConfig, which then takes the place of the
// auth files, as the kubelet gives the runtime the pod's secret first.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/types"
)

// Credentials are user names and passwords by registry key ("host[:port]"
// or "host[:port]/path"), normalized (AddDockerConfig).
type Credentials map[string]types.DockerAuthConfig

// dockerConfigEntry is one registry's entry in a Docker config.
type dockerConfigEntry struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"` // base64 of user:password
	IdentityToken string `json:"identitytoken"`
}

// AddDockerConfig adds the auths of a Secret's .dockerconfigjson (legacy
// false) or .dockercfg (legacy true) to c; a later key wins over an
// earlier one of the same registry, as the kubelet reads the secrets in
// order.
func (c Credentials) AddDockerConfig(data []byte, legacy bool) error {
	var auths map[string]dockerConfigEntry
	if legacy {
		if err := json.Unmarshal(data, &auths); err != nil {
			return fmt.Errorf("invalid JSON: %w", err)
		}
	} else {
		var cfg struct {
			Auths map[string]dockerConfigEntry `json:"auths"`
		}
		if err := json.Unmarshal(data, &cfg); err != nil {
			return fmt.Errorf("invalid JSON: %w", err)
		}
		auths = cfg.Auths
	}
	for key, e := range auths {
		a := types.DockerAuthConfig{Username: e.Username, Password: e.Password, IdentityToken: e.IdentityToken}
		if e.Auth != "" {
			b, err := base64.StdEncoding.DecodeString(e.Auth)
			if err != nil {
				return fmt.Errorf("auths[%s].auth: not base64: %w", key, err)
			}
			u, p, ok := strings.Cut(string(b), ":")
			if !ok {
				return fmt.Errorf("auths[%s].auth: not user:password", key)
			}
			a.Username, a.Password = u, p
		}
		k, err := registryKey(key)
		if err != nil {
			return fmt.Errorf("auths[%s]: %w", key, err)
		}
		c[k] = a
	}
	return nil
}

// registryKey normalizes a Docker config key as the kubelet's keyring does.
func registryKey(key string) (string, error) {
	v := key
	if !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
		v = "https://" + v
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("not a registry host")
	}
	host := dockerHub(u.Host)
	p := u.Path
	if strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/v2/") {
		p = p[3:]
	}
	p = strings.Trim(p, "/")
	if p == "" {
		return host, nil
	}
	return host + "/" + p, nil
}

func dockerHub(host string) string {
	switch host {
	case "index.docker.io", "registry-1.docker.io":
		return "docker.io"
	}
	return host
}

// For returns the credentials for image named, or nil: the longest key
// that is its registry, or its registry and a prefix of its repository
// path on a "/" boundary.
func (c Credentials) For(named reference.Named) *types.DockerAuthConfig {
	if len(c) == 0 {
		return nil
	}
	repo := dockerHub(reference.Domain(named)) + "/" + reference.Path(named)
	best := ""
	for k := range c {
		if (repo == k || strings.HasPrefix(repo, k+"/")) && len(k) > len(best) {
			best = k
		}
	}
	if best == "" {
		return nil
	}
	a := c[best]
	return &a
}

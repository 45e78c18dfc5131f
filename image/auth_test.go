package image

import (
	"encoding/base64"
	"testing"

	"go.podman.io/image/v5/docker/reference"
)

func TestCredentialsFor(t *testing.T) {
	c := Credentials{}
	auth := base64.StdEncoding.EncodeToString([]byte("hub:pw:with:colons"))
	if err := c.AddDockerConfig([]byte(`{"auths": {
		"https://index.docker.io/v1/": {"auth": "`+auth+`"},
		"127.0.0.1:5000": {"username": "reg", "password": "pw"},
		"http://127.0.0.1:5000/team/": {"username": "team", "password": "pw2"},
		"quay.io/org/app": {"identitytoken": "tok"}}}`), false); err != nil {
		t.Fatal(err)
	}
	legacy := Credentials{}
	if err := legacy.AddDockerConfig([]byte(`{"old.example:443": {"username": "o", "password": "p"}}`), true); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		c     Credentials
		image string
		user  string // "": none
	}{
		{c, "busybox", "hub"},
		{c, "docker.io/library/busybox:1", "hub"},
		{c, "127.0.0.1:5000/busybox:latest", "reg"},
		{c, "127.0.0.1:5000/team/app:1", "team"},
		{c, "127.0.0.1:5000/teamwork/app:1", "reg"}, // a prefix on a / boundary only
		{c, "127.0.0.1:5001/busybox", "-"},
		{c, "quay.io/org/app:1", ""}, // an identity token, no user
		{c, "quay.io/org/other", "-"},
		{legacy, "old.example:443/x", "o"},
		{legacy, "old.example/x", "-"},
	} {
		named, err := reference.ParseNormalizedNamed(tc.image)
		if err != nil {
			t.Fatal(err)
		}
		a := tc.c.For(named)
		switch {
		case tc.user == "-" && a != nil:
			t.Errorf("%s: credentials %+v, want none", tc.image, a)
		case tc.user == "-":
		case tc.user == "" && (a == nil || a.IdentityToken != "tok"):
			t.Errorf("%s: %+v, want the identity token", tc.image, a)
		case tc.user != "" && (a == nil || a.Username != tc.user):
			t.Errorf("%s: credentials %+v, want user %s", tc.image, a, tc.user)
		}
	}
	if a := c.For(mustNamed(t, "busybox")); a.Password != "pw:with:colons" {
		t.Errorf("auth's password %q: only the first colon separates", a.Password)
	}
	if err := (Credentials{}).AddDockerConfig([]byte(`{"auths": `), false); err == nil {
		t.Errorf("invalid JSON accepted")
	}
	if err := (Credentials{}).AddDockerConfig([]byte(`{"auths": {"r": {"auth": "!!"}}}`), false); err == nil {
		t.Errorf("auth not base64 accepted")
	}
}

func mustNamed(t *testing.T, s string) reference.Named {
	n, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

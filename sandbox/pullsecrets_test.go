package sandbox

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPodCredentials(t *testing.T) {
	secret := func(name string, typ corev1.SecretType, key, value string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Type: typ, StringData: map[string]string{key: value}}
	}
	secrets := []*corev1.Secret{
		secret("regcred", corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey, `{"auths": {"127.0.0.1:5000": {"username": "u", "password": "p"}}}`),
		secret("oldcred", corev1.SecretTypeDockercfg, corev1.DockerConfigKey, `{"old.example": {"username": "o", "password": "q"}}`),
		secret("opaque", corev1.SecretTypeOpaque, "password", "x"),
		secret("broken", corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey, `{`),
	}
	pod := func(names ...string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}}
		for _, n := range names {
			p.Spec.ImagePullSecrets = append(p.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: n})
		}
		return p
	}
	for _, tc := range []struct {
		name    string
		pod     *corev1.Pod
		keys    int
		warning string
	}{
		{"none", pod(), 0, ""},
		{"both kinds", pod("regcred", "oldcred"), 2, ""},
		{"missing and opaque: the kubelet's warning, the rest used", pod("regcred", "nope", "opaque"), 1,
			`pod "web": Unable to retrieve some image pull secrets (default/nope, default/opaque); attempting to pull the image may not succeed.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, w, err := podCredentials(tc.pod, secrets)
			if err != nil {
				t.Fatal(err)
			}
			if len(c) != tc.keys || w != tc.warning {
				t.Errorf("got %d keys, warning %q; want %d, %q", len(c), w, tc.keys, tc.warning)
			}
		})
	}
	if _, _, err := podCredentials(pod("broken"), secrets); err == nil {
		t.Errorf("a .dockerconfigjson that is not JSON: no error")
	} else if errors.Unwrap(err) == nil {
		t.Errorf("error not wrapped: %v", err)
	}
}

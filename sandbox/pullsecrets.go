package sandbox

// imagePullSecrets (issue 11): the credentials of a pod's pulls come from
// the kubernetes.io/dockerconfigjson (or legacy kubernetes.io/dockercfg)
// Secrets it names, among the Secrets of the manifest files, as the
// kubelet reads them from the API server (image.Credentials matches them
// to each image). A secret that is not in the files, or holds neither
// .dockerconfigjson nor .dockercfg, is a warning in the kubelet's words
// (its FailedToRetrieveImagePullSecret event), and the pull goes on
// without it (the auth files, else anonymous), as the kubelet's does. A
// .dockerconfigjson that is not valid JSON is an error, as the API server
// refuses such a Secret.

import (
	"fmt"
	"sort"
	"strings"

	"github.com/podbox/podbox/image"
	"github.com/podbox/podbox/sandbox/manifest"
	corev1 "k8s.io/api/core/v1"
)

// podCredentials returns the credentials of pod's imagePullSecrets among
// secrets (nil if it names none), and the warning for those it cannot use.
func podCredentials(pod *corev1.Pod, secrets []*corev1.Secret) (image.Credentials, string, error) {
	if len(pod.Spec.ImagePullSecrets) == 0 {
		return nil, "", nil
	}
	byName := map[string]*corev1.Secret{}
	for _, s := range secrets { // the last of a name wins, as apply leaves it
		byName[s.Name] = s
	}
	creds := image.Credentials{}
	var failed []string
	for _, ref := range pod.Spec.ImagePullSecrets {
		s := byName[ref.Name]
		if s == nil {
			failed = append(failed, "/"+ref.Name)
			continue
		}
		data := manifest.SecretData(s)
		var err error
		switch {
		case data[corev1.DockerConfigJsonKey] != nil:
			err = creds.AddDockerConfig(data[corev1.DockerConfigJsonKey], false)
		case data[corev1.DockerConfigKey] != nil:
			err = creds.AddDockerConfig(data[corev1.DockerConfigKey], true)
		default:
			failed = append(failed, "/"+ref.Name)
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("pod %q: spec.imagePullSecrets: Secret %q: %w", pod.Name, ref.Name, err)
		}
	}
	if len(failed) == 0 {
		return creds, "", nil
	}
	// The kubelet names them namespace/name; the namespace of a podbox
	// pod is its own.
	for i := range failed {
		failed[i] = pod.Namespace + failed[i]
	}
	return creds, fmt.Sprintf("pod %q: Unable to retrieve some image pull secrets (%s); attempting to pull the image may not succeed.", pod.Name, strings.Join(failed, ", ")), nil
}

// credentialsKey tells apart, in the pulls of one up, pods whose secrets
// differ: their credentials are the same if their keys are.
func credentialsKey(c image.Credentials) string {
	keys := make([]string, 0, len(c))
	for k, a := range c {
		keys = append(keys, k+"\x00"+a.Username+"\x00"+a.Password+"\x00"+a.IdentityToken)
	}
	sort.Strings(keys)
	return strings.Join(keys, "\x01")
}

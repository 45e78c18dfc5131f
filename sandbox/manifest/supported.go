package manifest

import "strings"

// What podbox honours of a Pod, as field path patterns ([*] for any list
// index). A field not listed here, and not under a supportedAll entry, is
// known to Kubernetes but ignored by podbox: Load warns about it. Extend
// this list in the change that implements a field.
type level int

const (
	unsupported   level = iota
	supportedSome       // the field is honoured; its sub-fields are listed one by one
	supportedAll        // the field and everything below it
)

var podFields = map[string]level{
	"apiVersion": supportedAll,
	"kind":       supportedAll,
	"metadata":   supportedAll, // names and labels; the rest is bookkeeping

	"spec":                                    supportedSome,
	"spec.restartPolicy":                      supportedAll,
	"spec.terminationGracePeriodSeconds":      supportedAll,
	"spec.activeDeadlineSeconds":              supportedAll, // sandbox/pod (watchDeadline)
	"spec.hostAliases":                        supportedAll,
	"spec.shareProcessNamespace":              supportedAll, // package ocispec
	"spec.dnsConfig":                          supportedAll,
	"spec.securityContext":                    supportedSome,
	"spec.securityContext.runAsUser":          supportedAll,
	"spec.securityContext.runAsGroup":         supportedAll,
	"spec.securityContext.supplementalGroups": supportedAll,
	"spec.securityContext.runAsNonRoot":       supportedAll,
	"spec.securityContext.seccompProfile":     supportedAll,

	// No API server, so no token to mount: accepted without effect
	// (a projected serviceAccountToken source gets a placeholder file).
	"spec.serviceAccountName":           supportedAll,
	"spec.serviceAccount":               supportedAll,
	"spec.automountServiceAccountToken": supportedAll,

	// Scheduling means nothing on one machine: the pod is "scheduled" on
	// this one, as a cluster of one node would, so these are accepted
	// without a word.
	"spec.nodeSelector":              supportedAll,
	"spec.nodeName":                  supportedAll,
	"spec.affinity":                  supportedAll,
	"spec.tolerations":               supportedAll,
	"spec.schedulingGates":           supportedAll,
	"spec.priorityClassName":         supportedAll,
	"spec.priority":                  supportedAll,
	"spec.preemptionPolicy":          supportedAll,
	"spec.topologySpreadConstraints": supportedAll,
	"spec.runtimeClassName":          supportedAll,
	"spec.schedulerName":             supportedAll,

	"spec.volumes":                                             supportedSome,
	"spec.volumes[*].name":                                     supportedAll,
	"spec.volumes[*].emptyDir":                                 supportedAll,
	"spec.volumes[*].hostPath":                                 supportedAll,
	"spec.volumes[*].configMap":                                supportedAll, // package mounts
	"spec.volumes[*].secret":                                   supportedAll,
	"spec.volumes[*].downwardAPI":                              supportedAll,
	"spec.volumes[*].persistentVolumeClaim":                    supportedAll, // a directory of podbox's (mounts.ClaimDir)
	"spec.volumes[*].projected":                                supportedSome,
	"spec.volumes[*].projected.defaultMode":                    supportedAll,
	"spec.volumes[*].projected.sources":                        supportedSome,
	"spec.volumes[*].projected.sources[*].configMap":           supportedAll,
	"spec.volumes[*].projected.sources[*].secret":              supportedAll,
	"spec.volumes[*].projected.sources[*].downwardAPI":         supportedAll,
	"spec.volumes[*].projected.sources[*].serviceAccountToken": supportedAll, // a placeholder file, said at up
	"spec.volumes[*].projected.sources[*].clusterTrustBundle":  supportedAll, // a placeholder file, said at up
	"spec.containers":                                          supportedSome,
	"spec.initContainers":                                      supportedSome,
}

// containerFields are relative to one container, for containers and
// initContainers alike.
var containerFields = map[string]level{
	"name":                                     supportedAll,
	"image":                                    supportedAll,
	"imagePullPolicy":                          supportedAll,
	"command":                                  supportedAll,
	"args":                                     supportedAll,
	"workingDir":                               supportedAll,
	"restartPolicy":                            supportedAll, // init containers: sidecars (package sandbox)
	"env":                                      supportedSome,
	"env[*].name":                              supportedAll,
	"env[*].value":                             supportedAll,
	"env[*].valueFrom":                         supportedSome,
	"env[*].valueFrom.fieldRef":                supportedAll, // image.ProcessFor, package downward
	"env[*].valueFrom.resourceFieldRef":        supportedAll,
	"env[*].valueFrom.configMapKeyRef":         supportedAll, // checked in refs.go, read by image.ProcessFor
	"env[*].valueFrom.secretKeyRef":            supportedAll,
	"envFrom":                                  supportedAll,
	"ports":                                    supportedSome,
	"ports[*].name":                            supportedAll,
	"ports[*].containerPort":                   supportedAll,
	"ports[*].hostPort":                        supportedAll,
	"ports[*].hostIP":                          supportedAll,
	"ports[*].protocol":                        supportedAll,
	"volumeMounts":                             supportedSome,
	"volumeMounts[*].name":                     supportedAll,
	"volumeMounts[*].mountPath":                supportedAll,
	"volumeMounts[*].readOnly":                 supportedAll,
	"volumeMounts[*].subPath":                  supportedAll,
	"volumeMounts[*].mountPropagation":         supportedAll,
	"securityContext":                          supportedSome,
	"securityContext.runAsUser":                supportedAll,
	"securityContext.runAsGroup":               supportedAll,
	"securityContext.runAsNonRoot":             supportedAll,
	"securityContext.capabilities":             supportedAll,
	"securityContext.readOnlyRootFilesystem":   supportedAll,
	"securityContext.privileged":               supportedAll, // true is refused (validate.go)
	"securityContext.allowPrivilegeEscalation": supportedAll,
	"securityContext.seccompProfile":           supportedAll,
	"livenessProbe":                            supportedAll, // sandbox/pod/probe.go
	"readinessProbe":                           supportedAll,
	"startupProbe":                             supportedAll,
	"lifecycle":                                supportedAll, // sandbox/pod/hooks.go
}

// messages replace "not supported yet, ignored" where there is more to say.
var messages = map[string]string{
	"status":    "ignored: podbox reports the status itself",
	"resources": "not applied, ignored: podbox sets no cgroup limits (rootless limits need cgroup v2 delegation)",
}

var volumeSourceMsg = "not supported yet: the volume is an empty directory"

// projectedSourceMsg is for a projected source podbox does not write.
var projectedSourceMsg = "not supported yet: nothing is written for this source"

func support(pattern string) level {
	if l, ok := podFields[pattern]; ok {
		return l
	}
	if rel, ok := containerRel(pattern); ok {
		return containerFields[rel]
	}
	return unsupported
}

func unsupportedMsg(pattern string) string {
	if strings.HasPrefix(pattern, "spec.volumes[*].projected.sources[*].") {
		return projectedSourceMsg
	}
	if strings.HasPrefix(pattern, "spec.volumes[*].") {
		return volumeSourceMsg
	}
	if m, ok := messages[pattern]; ok {
		return m
	}
	if rel, ok := containerRel(pattern); ok {
		if m, ok := messages[rel]; ok {
			return m
		}
	}
	return "not supported yet, ignored"
}

// containerRel returns a container field pattern relative to the container.
func containerRel(pattern string) (string, bool) {
	for _, p := range []string{"spec.containers[*].", "spec.initContainers[*]."} {
		if rel, ok := strings.CutPrefix(pattern, p); ok {
			return rel, true
		}
	}
	return "", false
}

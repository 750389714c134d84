// Package helm holds cdnpurge's Helm chart, cdnpurge/, which runs `serve` on
// Kubernetes, and exists so that the chart is tested like code: its tests run
// the real helm binary (helm lint, helm template) over the default values and
// over testdata/values-all.yaml, decode every rendered manifest strictly into
// its k8s.io/api type (the ServiceMonitor into the Prometheus Operator's), so
// that an unknown or misplaced field fails, and check what matters: probes,
// the security context, secrets only by secretKeyRef, the targets file where
// CDNPURGE_CONFIG points (parsed by internal/config), and the selectors.
//
// Install it from the module root (docs/operate/kubernetes.md):
//
//	kubectl create secret generic cdnpurge --from-literal=slack-signing-secret=...
//	helm install cdnpurge deploy/helm/cdnpurge -f my-values.yaml
package helm

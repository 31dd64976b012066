// Package deploy holds no code, only tests: they validate Sluice's
// deployment artefacts without a cluster or a Docker engine.
//
//   - k8s/: every overlay (and the optional components) is rendered with
//     the kustomize API, every object is decoded strictly into its
//     Kubernetes API type (an unknown or mistyped field fails), and the
//     operational rules are checked: one capture replica with the Recreate
//     strategy, probes on /readyz and /healthz, requests and limits, a
//     termination grace period above the config's shutdown_timeout, no
//     secret values in ConfigMaps, a PodDisruptionBudget and an autoscaler
//     for every apply Deployment, and never more apply replicas than
//     partitions. testdata/k8s-bad holds one broken variant per rule, so
//     each check is shown to fail when it should.
//   - docker-compose.yml: `docker-compose config` (Debian's docker-compose)
//     and structural rules (dependencies exist, configs mounted, host ports
//     unique, Prometheus scrapes what exists).
//   - deploy/grafana/sluice.json: every metric a panel queries is
//     registered by capture or apply. The registered names are read
//     statically from the Go source of capture/internal/metrics and
//     apply/internal/metrics (go/ast): pkg may not import those modules.
//   - Every config a ConfigMap or the compose stack carries is checked with
//     the real loaders, by building bin/capture and bin/apply and running
//     their check-config command.
//   - The Dockerfiles: static build, non-root, distroless or scratch base.
package deploy

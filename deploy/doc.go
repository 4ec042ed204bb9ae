// Package deploy holds what runs stampede elsewhere than from the command line: Kubernetes
// manifests for a sharded herd and the reference stack (kubernetes/, a kustomization), the
// Grafana dashboard that shows the driver beside the reference server and its provisioning
// (grafana/), and the Prometheus configuration of docker-compose.yml's metrics profile
// (prometheus/). It has no Go code: its tests check the dashboard against the metrics the driver
// and the server really export. cmd/stampede's tests check the Kubernetes manifests' command
// lines against its flag sets, and infra's check docker-compose.yml.
package deploy

// Package deploy holds Newsflash's deployment files and no code: compose/ (a
// three-node NATS cluster, two Newsflash instances, nginx and an optional
// Prometheus), kubernetes/ (manifests and the values for the NATS Helm
// chart), prometheus/ (alert rules), grafana/ (a dashboard), and the tests
// that keep them true to the server.
//
// The tests parse every YAML file and NATS config here, build the real
// newsflash binary to learn the flags "newsflash serve" accepts and to let
// its own parser try every command line, and check what ties the files
// together: probes and ports against --addr, grace periods against
// --shutdown-timeout, Service, Ingress, autoscaler and budget against the
// Deployment, Secret and ConfigMap references, the NATS cluster's routes,
// names and sync_interval, the same VAPID keys on every instance, the
// trusted proxies and the limits per address behind them, /metrics kept
// from the public, NATS that refuses clients without Newsflash's user and
// password (each NATS config run by a real nats-server from this package)
// and a NetworkPolicy that lets only Newsflash reach its client port, and
// every metric, label and value the alert rules and
// the dashboard use against docs/metrics.md. See docs/deploy.md for how to
// use the files.
package deploy

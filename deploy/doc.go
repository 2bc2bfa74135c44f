// Package deploy holds Newsflash's deployment files and no code: compose/ (a
// three-node NATS cluster, two Newsflash instances and nginx), kubernetes/
// (manifests and the values for the NATS Helm chart), and the tests that keep
// them true to the server.
//
// The tests parse every YAML file and NATS config here, build the real
// newsflash binary to learn the flags "newsflash serve" accepts and to let
// its own parser try every command line, and check what ties the files
// together: probes and ports against --addr, grace periods against
// --shutdown-timeout, Service, Ingress, autoscaler and budget against the
// Deployment, Secret and ConfigMap references, the NATS cluster's routes,
// names and sync_interval, and the same VAPID keys on every instance. See
// docs/deploy.md for how to use the files.
package deploy

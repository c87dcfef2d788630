"""Running the exchange on more than one machine: a replicated journal on NATS JetStream, hot standbys
that apply it and take over through a lease, and the cluster's NATS configuration (ARCHITECTURE.md,
"The cluster"). Needs the `cluster` extra (nats-py)."""

"""Client quotas, connection quotas and replication throttles (sans-I/O)."""

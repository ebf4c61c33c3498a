"""The web console: a live view of the cluster, and the failure toolkit's buttons."""

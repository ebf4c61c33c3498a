"""Schemas: what a schema is, for each type, and which evolutions of it are compatible."""

"""Imports and exports: the runner and one module per canonical format (partners, deals, activities,
products); the writes themselves go through the owning app's bulk service."""

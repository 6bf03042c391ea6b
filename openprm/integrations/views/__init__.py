"""The import and export pages (one module per format)."""

"""The canonical CSV formats: columns, parsing and rendering of one row, CSV reading."""

"""The CSV formats: columns, parsing and rendering of one row (one module per format), and the one
CSV reader and writer every import and export shares (``csvread``, ``csvwrite``). No database access."""

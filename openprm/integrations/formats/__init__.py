"""The CSV formats: columns, parsing and rendering of one row (one module per format), and the one
CSV reader and writer every import and export shares (``csvread``, ``csvwrite``), with the amount and
date parsing of the deal formats (``amounts``, ``dates``). No database access."""

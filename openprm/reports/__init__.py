"""Scheduled reports: definitions, their runs and deliveries by e-mail, previews, the QBR pack."""

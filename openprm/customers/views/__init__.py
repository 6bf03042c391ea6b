"""Staff pages of the customers app: ``accounts`` (list, detail, form) and ``records`` (adding and
removing an account's changes, CSAT answers and usage months; the direct-channel CSAT page)."""

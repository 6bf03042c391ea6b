"""Staff pages of the deals app, one module per topic: ``deals`` (list and board), ``detail`` (the deal
page and its decisions), ``pipeline`` (review, partner panel, stage settings), ``products`` (catalog)."""

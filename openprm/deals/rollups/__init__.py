"""Deal rollups: what deals add up to per partner and UTC day (flows) and what sits in the pipeline at a
day (stocks), read by the metric engine through :mod:`openprm.deals.rollups.read`."""

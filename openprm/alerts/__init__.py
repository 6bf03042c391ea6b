"""Alert rules on any catalogued metric and on deals, agreements and conflicts: evaluated on the schedule,
with states (pending → firing → resolved, no data), history, acknowledgement, snoozes and silences."""

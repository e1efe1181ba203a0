"""Results: schema + validation, submit, leaderboard tables, HTML page, plots, run transport cost."""

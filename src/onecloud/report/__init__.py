"""Progress views of the programme: the plan joined with the migration ledger."""

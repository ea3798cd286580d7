"""Pure rule evaluation: (token record, request facts) -> destination and the trace of rules tried."""
